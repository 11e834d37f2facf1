"""Money you can see: /rw spend (text, chart, CSV), /rw audit (paged, filtered, CSV) and the digest's
weekly picture. Reads gigdesk's own records only (storage/reports.py); draws with matplotlib (Agg),
imported only when a chart is drawn, so an idle `gigdesk serve` never loads it."""

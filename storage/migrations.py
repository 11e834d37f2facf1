"""Numbered schema migrations. Append; never edit one that has shipped."""

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (
        1,
        "initial schema",
        [
            # One row per RapidWorkers submission the bot has claimed for posting.
            # state: claimed -> posted -> approving|rejecting -> approved|rejected
            """CREATE TABLE submissions (
                submission_id INTEGER PRIMARY KEY,
                campaign_id TEXT NOT NULL,
                worker_id TEXT,
                state TEXT NOT NULL,
                data TEXT NOT NULL,
                channel TEXT,
                ts TEXT,
                claimed_at TEXT NOT NULL,
                posted_at TEXT,
                acting_user TEXT,
                acting_since TEXT,
                decided_by TEXT,
                decided_at TEXT,
                outcome TEXT,
                amount_paid TEXT,
                notes TEXT,
                decided_via TEXT
            )""",
            "CREATE INDEX submissions_state ON submissions(state)",
            "CREATE INDEX submissions_campaign ON submissions(campaign_id, state)",
            "CREATE INDEX submissions_worker ON submissions(worker_id)",
            # Last seen counts per campaign: a sync only reads submissions of
            # campaigns whose counts changed.
            """CREATE TABLE campaigns (
                campaign_id TEXT PRIMARY KEY,
                title TEXT,
                status TEXT,
                pending INTEGER, approved INTEGER, rejected INTEGER,
                completed INTEGER, total INTEGER,
                synced_at TEXT,
                completed_seen_at TEXT
            )""",
            # Every click and every spend, allowed or not.
            """CREATE TABLE audit (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL,
                user_id TEXT,
                action TEXT NOT NULL,
                target TEXT,
                outcome TEXT NOT NULL,
                detail TEXT,
                amount TEXT
            )""",
            "CREATE INDEX audit_at ON audit(at)",
            # Spending offers: Confirm works once, and only before expires_at.
            """CREATE TABLE confirmations (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                action TEXT NOT NULL,
                params TEXT NOT NULL,
                cost TEXT,
                state TEXT NOT NULL,
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL,
                finished_at TEXT,
                result TEXT
            )""",
            """CREATE TABLE jobs_created (
                job_id TEXT PRIMARY KEY,
                confirmation_id TEXT UNIQUE,
                kind TEXT NOT NULL,
                title TEXT,
                cost TEXT,
                created_by TEXT,
                created_at TEXT NOT NULL
            )""",
            """CREATE TABLE worker_blocks (
                worker_id TEXT PRIMARY KEY,
                worker_name TEXT,
                blocked_by TEXT,
                blocked_at TEXT NOT NULL
            )""",
            # kind 'scheduled' is unique per local day; 'manual' digests are not.
            """CREATE TABLE digests (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL,
                day TEXT NOT NULL,
                posted_at TEXT NOT NULL,
                channel TEXT,
                ts TEXT,
                balance TEXT
            )""",
            "CREATE UNIQUE INDEX digests_one_scheduled_per_day ON digests(day) WHERE kind = 'scheduled'",
            "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT)",
            """CREATE TABLE wonolo_deliveries (
                delivery_key TEXT PRIMARY KEY,
                received_at TEXT NOT NULL,
                resource_type TEXT,
                resource_id TEXT,
                state TEXT
            )""",
            """CREATE TABLE wonolo_requests (
                job_request_id TEXT PRIMARY KEY,
                channel TEXT,
                ts TEXT,
                state TEXT,
                updated_at TEXT
            )""",
            """CREATE TABLE wonolo_jobs (
                job_id TEXT PRIMARY KEY,
                job_request_id TEXT,
                state TEXT,
                updated_at TEXT
            )""",
        ],
    ),
    (
        2,
        "wonolo desk: rendered digests, job replies, action claims",
        [
            # sha256 of the last text+blocks sent, so an unchanged message is not re-sent.
            "ALTER TABLE wonolo_requests ADD COLUMN rendered TEXT",
            # The job's latest thread reply (its buttons) and the snapshot it shows.
            "ALTER TABLE wonolo_jobs ADD COLUMN channel TEXT",
            "ALTER TABLE wonolo_jobs ADD COLUMN reply_ts TEXT",
            "ALTER TABLE wonolo_jobs ADD COLUMN data TEXT",
            # One row per Wonolo action under way or done: a double click, or two
            # people clicking at once, reach Wonolo once.
            # state: running -> done (or the row is deleted when the call failed)
            """CREATE TABLE wonolo_actions (
                action TEXT NOT NULL,
                target TEXT NOT NULL,
                user_id TEXT,
                state TEXT NOT NULL,
                started_at TEXT NOT NULL,
                finished_at TEXT,
                PRIMARY KEY (action, target)
            )""",
        ],
    ),
    (
        3,
        "spending: who confirmed, when, what it cost, second approvals",
        [
            # taken_at: when Confirm took the offer (offered -> executing): the spend
            # counts for the daily limit from then, in the requester's local day.
            "ALTER TABLE confirmations ADD COLUMN taken_at TEXT",
            # Cents reserved at Confirm, then what was really spent (NULL: nothing).
            "ALTER TABLE confirmations ADD COLUMN spent_cents INTEGER",
            # Spends above GIGDESK_SECOND_APPROVAL_ABOVE: when the requester asked
            # (offered -> awaiting_second) and which other spender confirmed.
            "ALTER TABLE confirmations ADD COLUMN asked_at TEXT",
            "ALTER TABLE confirmations ADD COLUMN second_by TEXT",
            "CREATE INDEX confirmations_spent ON confirmations(user_id, taken_at)",
        ],
    ),
    (
        4,
        "slack events seen: a retried delivery is handled once",
        [
            # Slack resends an event (same event_id, X-Slack-Retry-Num) when it
            # thinks the first delivery failed; rows older than an hour are pruned.
            """CREATE TABLE slack_events (
                event_id TEXT PRIMARY KEY,
                received_at TEXT NOT NULL
            )""",
            "CREATE INDEX slack_events_received ON slack_events(received_at)",
        ],
    ),
    (
        5,
        "wonolo unfilled-shift alerts: raised once per job request",
        [
            # The row is the claim (taken before posting, deleted if the post
            # fails), so an alert is raised once per job request across restarts
            # and concurrent checks. raised_at feeds the digest's count.
            """CREATE TABLE wonolo_alerts (
                job_request_id TEXT PRIMARY KEY,
                raised_at TEXT NOT NULL,
                start_time TEXT,
                open_slots INTEGER,
                channel TEXT,
                ts TEXT,
                rendered TEXT
            )""",
            "CREATE INDEX wonolo_alerts_raised ON wonolo_alerts(raised_at)",
        ],
    ),
    (
        6,
        "proof forensics: image hashes, proof text fingerprints, flags",
        [
            # One row per proof image checked: its perceptual hashes (signed
            # 64-bit), or why it could not be checked.
            """CREATE TABLE proof_images (
                id INTEGER PRIMARY KEY,
                submission_id INTEGER NOT NULL,
                worker_id TEXT,
                image_no INTEGER NOT NULL,
                url TEXT,
                phash INTEGER,
                dhash INTEGER,
                error TEXT,
                checked_at TEXT NOT NULL,
                UNIQUE (submission_id, image_no)
            )""",
            # One row per submission checked: written once, with its flags (JSON).
            """CREATE TABLE proof_checks (
                submission_id INTEGER PRIMARY KEY,
                worker_id TEXT,
                submitted_at TEXT,
                text_fingerprint TEXT,
                flags TEXT NOT NULL,
                suspicious INTEGER NOT NULL DEFAULT 0,
                checked_at TEXT NOT NULL
            )""",
            "CREATE INDEX proof_checks_suspicious ON proof_checks(submission_id) WHERE suspicious = 1",
            "CREATE INDEX proof_checks_worker_time ON proof_checks(worker_id, submitted_at)",
            "CREATE INDEX proof_checks_text ON proof_checks(text_fingerprint) WHERE text_fingerprint IS NOT NULL",
        ],
    ),
    (
        7,
        "campaign cache keeps the proof requirement the review card shows",
        [
            "ALTER TABLE campaigns ADD COLUMN proof_required_description TEXT",
        ],
    ),
    (
        8,
        "less noise: routes per campaign, batch rows, reminders",
        [
            # /rw route: a campaign's submissions go to their own channel.
            """CREATE TABLE routes (
                campaign_id TEXT PRIMARY KEY,
                channel TEXT NOT NULL,
                set_by TEXT,
                set_at TEXT NOT NULL
            )""",
            # The channel a claim is meant for (recovery looks for it there), and
            # for a submission posted in a batch message, its row in that message.
            "ALTER TABLE submissions ADD COLUMN target_channel TEXT",
            "ALTER TABLE submissions ADD COLUMN batch_row INTEGER",
            "CREATE INDEX submissions_message ON submissions(channel, ts)",
            # One reminder per submission at most: the row is the claim, taken
            # before the nudge is posted (released when it certainly was not).
            """CREATE TABLE reminders (
                submission_id INTEGER PRIMARY KEY,
                reminded_at TEXT NOT NULL,
                channel TEXT
            )""",
        ],
    ),
    (
        9,
        "proof checks run after the post: each check's attempts, and whether its card shows it",
        [
            # A check taken up (attempts, when, by which process: its owner id, as bot.leases writes it): one never
            # finished is taken up again once its process is gone (a crash), and given up
            # after a few attempts (an image that kills it).
            """CREATE TABLE proof_check_runs (
                submission_id INTEGER PRIMARY KEY,
                attempts INTEGER NOT NULL,
                started_at TEXT NOT NULL,
                owner TEXT
            )""",
            # 0 until the card has been rebuilt with the check's result (checks before
            # this migration ran before the post, so their cards show them).
            "ALTER TABLE proof_checks ADD COLUMN shown INTEGER NOT NULL DEFAULT 1",
        ],
    ),
    (
        10,
        "one review sync at a time across processes; claims name their owner; short keys for long campaign ids",
        [
            # A named job held by one owner (host/pid/random instance id) until expires_at, which
            # the holder renews while it works: the review sync runs in one process at a time.
            """CREATE TABLE leases (
                name TEXT PRIMARY KEY,
                owner TEXT NOT NULL,
                host TEXT,
                pid INTEGER,
                acquired_at TEXT NOT NULL,
                heartbeat_at TEXT NOT NULL,
                expires_at TEXT NOT NULL
            )""",
            # Who claimed a submission for posting, and when they last showed they are alive:
            # recovery takes over only a claim whose owner is gone or stale.
            "ALTER TABLE submissions ADD COLUMN claimed_by TEXT",
            "ALTER TABLE submissions ADD COLUMN claim_heartbeat TEXT",
            # A campaign id too long for a button or option value rides as a short key (a hash
            # prefix): the key -> id of every one shown, so a click finds its campaign again.
            """CREATE TABLE campaign_keys (
                key TEXT PRIMARY KEY,
                campaign_id TEXT NOT NULL
            )""",
        ],
    ),
    (
        11,
        "the digest's weekly picture: posted once per week",
        [
            # The row is the claim (taken before the chart is uploaded, deleted only if
            # the upload certainly failed), so a week's picture is posted once across
            # restarts and concurrent digests. week: its Monday in GIGDESK_TZ (ISO date).
            """CREATE TABLE weekly_pictures (
                week TEXT PRIMARY KEY,
                channel TEXT,
                claimed_at TEXT NOT NULL,
                file_id TEXT,
                posted_at TEXT
            )""",
            # /rw audit filters by who acted and by what the entry names.
            "CREATE INDEX audit_user ON audit(user_id, id)",
            "CREATE INDEX audit_target ON audit(target)",
        ],
    ),
    (
        12,
        "replicas: one RapidWorkers hourly request budget for every process",
        [
            # One row per RapidWorkers request any gigdesk process sent in the last hour (a
            # sliding window; older rows are pruned as slots are taken): replicas on one
            # database count against one budget. at_epoch: Unix seconds (wall clock).
            """CREATE TABLE rw_requests (
                id TEXT PRIMARY KEY,
                at_epoch REAL NOT NULL
            )""",
            "CREATE INDEX rw_requests_at ON rw_requests(at_epoch)",
        ],
    ),
    (
        14,
        "flags worth reading: proof text uses per campaign, dismissed flags, trusted workers",
        [
            # Which distinctive proof text each checked submission used, in which campaign: text
            # many workers of a campaign use is a stock phrase (bot/forensics/text.py).
            """CREATE TABLE proof_text_uses (
                submission_id INTEGER PRIMARY KEY,
                fingerprint TEXT NOT NULL,
                campaign_id TEXT,
                worker_id TEXT,
                used_at TEXT NOT NULL
            )""",
            "CREATE INDEX proof_text_uses_fingerprint ON proof_text_uses(fingerprint, campaign_id)",
            """INSERT INTO proof_text_uses (submission_id, fingerprint, campaign_id, worker_id, used_at)
               SELECT c.submission_id, c.text_fingerprint, s.campaign_id, c.worker_id, c.checked_at
               FROM proof_checks c LEFT JOIN submissions s ON s.submission_id = c.submission_id
               WHERE c.text_fingerprint IS NOT NULL""",
            # "Not a problem" on a flag: the evidence pair (bot/forensics/judgement.py) never flags again.
            """CREATE TABLE flag_dismissals (
                pair_key TEXT PRIMARY KEY,
                submission_id INTEGER NOT NULL,
                kind TEXT NOT NULL,
                dismissed_by TEXT,
                dismissed_at TEXT NOT NULL
            )""",
            # Workers whose soft flags (copied text, bursts) are not shown.
            """CREATE TABLE trusted_workers (
                worker_id TEXT PRIMARY KEY,
                worker_name TEXT,
                trusted_by TEXT,
                trusted_at TEXT NOT NULL
            )""",
        ],
    ),
    (
        15,
        "incidents posted to the ops channel: once each, and their recovery",
        [
            # One row per incident kind (and channel, for Slack refusals): open until it clears;
            # channel/ts: where it was announced (NULL: not yet), so a restart does not repeat it.
            """CREATE TABLE incidents (
                key TEXT PRIMARY KEY,
                state TEXT NOT NULL,
                opened_at TEXT NOT NULL,
                detail TEXT,
                channel TEXT,
                ts TEXT,
                cleared_at TEXT
            )""",
        ],
    ),
    (
        16,
        "replicas: each person's /rw allowance shared by every process",
        [
            # One row per /rw look-up that reached RapidWorkers in the last minute, per user (a
            # sliding window; older rows are pruned as calls are counted): replicas on one
            # database give a person one allowance. at_epoch: Unix seconds (wall clock).
            """CREATE TABLE user_calls (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                at_epoch REAL NOT NULL
            )""",
            "CREATE INDEX user_calls_user_at ON user_calls(user_id, at_epoch)",
            "CREATE INDEX user_calls_at ON user_calls(at_epoch)",
        ],
    ),
]

"""Every Block Kit action_id, callback_id and metadata event type, in one place."""

# Review messages
REVIEW_APPROVE = "review-approve"
REVIEW_REJECT = "review-reject"
REVIEW_BLOCK = "review-block"
REVIEW_REJECT_MODAL = "review-reject-modal"
REJECT_REASON_BLOCK = "reject-reason"
REJECT_REASON_INPUT = "reject-reason-input"
REJECT_PRESET_BLOCK = "reject-preset"
REJECT_PRESET_INPUT = "reject-preset-input"
SUBMISSION_EVENT = "gigdesk_submission"  # Slack message metadata event_type

# Spending (job creation, approve-all) and /rw
SPEND_CONFIRM = "spend-confirm"
SPEND_CANCEL = "spend-cancel"
SPEND_INCLUDE_FLAGGED = "spend-include-flagged"  # approve-all: a new offer that includes flagged submissions
JOB_MODAL = "rw-job-modal"
NEW_CAMPAIGN_MODAL = "rw-new-campaign-modal"
CAMPAIGN_APPROVE_ALL = "campaign-approve-all"
CAMPAIGN_POST_PENDING = "campaign-post-pending"
CAMPAIGN_DETAILS = "campaign-details"  # value: a campaign id (list rows, candidates, "View campaign")
CAMPAIGN_ROW_MENU = "campaign-row-menu"  # overflow on a /rw campaigns row: approve all, post pending
CAMPAIGNS_PAGE_NEXT = "campaigns-page-next"  # value: page, sort and status filter only
CAMPAIGNS_PAGE_PREVIOUS = "campaigns-page-previous"
CAMPAIGNS_SORT = "campaigns-sort"  # same value shape as the pager: page 1 in the other order
CAMPAIGN_SELECT = "campaign-select"  # external_select (type-ahead) of a campaign; app.options answers it
APPROVE_ALL_MODAL = "rw-approve-all-modal"  # `/rw approve-all` without a campaign
CAMPAIGN_MODAL = "rw-campaign-modal"  # `/rw campaign` without a campaign

# App Home
HOME_NEW_JOB = "home-new-job"
HOME_POST_DIGEST = "home-post-digest"
HOME_REFRESH = "home-refresh"

# Wonolo
WONOLO_RESEND = "wonolo-resend-notifications"
WONOLO_RERANK = "wonolo-rerank-workers"
WONOLO_CANCEL_REQUEST = "wonolo-cancel-request"
WONOLO_CANCEL_JOB = "wonolo-cancel-job"
WONOLO_MESSAGE_WORKER = "wonolo-message-worker"
WONOLO_CANCEL_JOB_MODAL = "wonolo-cancel-job-modal"
WONOLO_MESSAGE_MODAL = "wonolo-message-modal"
WONOLO_CANCEL_REASON_BLOCK = "wonolo-cancel-reason"
WONOLO_CANCEL_REASON_INPUT = "wonolo-cancel-reason-input"
WONOLO_CANCEL_OTHER_BLOCK = "wonolo-cancel-other"
WONOLO_CANCEL_OTHER_INPUT = "wonolo-cancel-other-input"
WONOLO_MESSAGE_BLOCK = "wonolo-message-body"
WONOLO_MESSAGE_INPUT = "wonolo-message-body-input"
WONOLO_REQUEST_EVENT = "gigdesk_wonolo_request"  # Slack message metadata event_type
WONOLO_ASSIGN = "wonolo-assign-worker"
WONOLO_ASSIGN_MODAL = "wonolo-assign-modal"
WONOLO_ASSIGN_WORKER_BLOCK = "wonolo-assign-worker"
WONOLO_ASSIGN_WORKER_INPUT = "wonolo-assign-worker-input"
WONOLO_ASSIGN_NOTES_BLOCK = "wonolo-assign-notes"
WONOLO_ASSIGN_NOTES_INPUT = "wonolo-assign-notes-input"
WONOLO_INVITE = "wonolo-invite-worker"  # /wonolo invite (audit action)
WONOLO_UNFILLED_ALERT = "wonolo-unfilled-alert"  # audit action of a raised alert
WONOLO_PAGE_NEXT = "wonolo-page-next"
WONOLO_PAGE_PREVIOUS = "wonolo-page-previous"
# Wonolo booking: /wonolo book and "Book again" (bot/wonolo_desk/booking.py)
WONOLO_BOOK = "wonolo-book"  # audit action and the offer's confirmations.action
WONOLO_BOOK_MODAL = "wonolo-book-modal"
WONOLO_BOOK_AGAIN = "wonolo-book-again"
WONOLO_BOOK_CONFIRM = "wonolo-book-confirm"
WONOLO_BOOK_CANCEL = "wonolo-book-cancel"
WONOLO_BOOK_CUSTOMER_BLOCK = "wonolo-book-customer"
WONOLO_BOOK_VENUE_BLOCK = "wonolo-book-venue"
WONOLO_BOOK_ADDRESS_BLOCK = "wonolo-book-address"
WONOLO_BOOK_CITY_BLOCK = "wonolo-book-city"
WONOLO_BOOK_ZIP_BLOCK = "wonolo-book-zip"
WONOLO_BOOK_ZONE_BLOCK = "wonolo-book-zone"
WONOLO_BOOK_DATE_BLOCK = "wonolo-book-date"  # + "-1" … "-6" for the extra dates of a multi-day request
WONOLO_BOOK_START_BLOCK = "wonolo-book-start"
WONOLO_BOOK_END_BLOCK = "wonolo-book-end"
WONOLO_BOOK_SLOTS_BLOCK = "wonolo-book-slots"
WONOLO_BOOK_WAGE_BLOCK = "wonolo-book-wage"
WONOLO_BOOK_TITLE_BLOCK = "wonolo-book-title"
WONOLO_BOOK_DESCRIPTION_BLOCK = "wonolo-book-description"
WONOLO_BOOK_BADGES_BLOCK = "wonolo-book-badges"
WONOLO_BOOK_INPUT = "value"  # the one element of each booking input block

# Batch review messages (a backlog past GIGDESK_BATCH_ABOVE): one row and its own buttons per submission
REVIEW_BATCH_APPROVE = "review-batch-approve"
REVIEW_BATCH_REJECT = "review-batch-reject"
REVIEW_BATCH_BLOCK = "review-batch-block"
SUBMISSION_BATCH_EVENT = "gigdesk_submission_batch"  # metadata naming every submission of the message
REVIEW_REMINDER_EVENT = "gigdesk_review_reminder"

# Reports: /rw spend and /rw audit (bot/reports/)
AUDIT_PAGE_NEXT = "audit-page-next"  # value: the page and the filter only (bot.reports.audit.page_value)
AUDIT_PAGE_PREVIOUS = "audit-page-previous"
AUDIT_CSV = "audit-csv"  # same value: the whole filtered audit as a CSV in the clicker's direct message

# App Home "Review next": opens the one-at-a-time review modal (its listener: the review engineer's).
NEXT_OPEN = "next_open"

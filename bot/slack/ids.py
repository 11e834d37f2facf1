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

# Batch review messages (a backlog past GIGDESK_BATCH_ABOVE): one row and its own buttons per submission
REVIEW_BATCH_APPROVE = "review-batch-approve"
REVIEW_BATCH_REJECT = "review-batch-reject"
REVIEW_BATCH_BLOCK = "review-batch-block"
SUBMISSION_BATCH_EVENT = "gigdesk_submission_batch"  # metadata naming every submission of the message
REVIEW_REMINDER_EVENT = "gigdesk_review_reminder"

"""Webhook and inbox failures, each a stable problem code."""

from zapora.errors import ConflictError, PermissionDeniedError, ZaporaError


class WebhookDisabledError(PermissionDeniedError):
    code = "webhook_disabled"
    title = "Webhook disabled"


class SignatureMissingError(ZaporaError):
    status_code = 401
    code = "signature_missing"
    title = "Signature missing"


class InvalidSignatureError(PermissionDeniedError):
    code = "invalid_signature"
    title = "Invalid signature"


class VerificationFailedError(PermissionDeniedError):
    code = "verification_failed"
    title = "Verification failed"


class InvalidWebhookBodyError(ZaporaError):
    code = "invalid_webhook_body"
    title = "Invalid webhook body"


class InboxMessageNotDeadError(ConflictError):
    code = "inbox_message_not_dead"
    title = "Inbox message not dead"

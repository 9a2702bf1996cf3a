-- The webhook's insert of one inbound message, committed on its own (synchronous_commit on).
-- Variables: store_id.
INSERT INTO inbound_messages (id, store_id, message_id, wa_id, customer_id, type, payload, sent_at, received_at, status, attempts, next_attempt_at, processed_at) VALUES (gen_random_uuid(), :store_id, 'wamid.pgbench.' || md5(random()::text || clock_timestamp()::text), '5511955550001', NULL, 'text', '{"from": "5511955550001", "type": "text", "text": {"body": "oi"}}', now(), now(), 'pending', 0, now(), NULL) ON CONFLICT (message_id) DO NOTHING RETURNING id;

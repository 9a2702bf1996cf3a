-- The statements Zapora's staff order creation runs on PostgreSQL (one order of two lines,
-- with an Idempotency-Key), in one transaction with synchronous_commit on.
-- Variables: store_id, user_id, item_a, item_b.
BEGIN;
SELECT email, password_hash, role, store_id, is_active, token_version, id FROM users WHERE id = :user_id;
SELECT * FROM stores WHERE id = :store_id;
\set key random(1, 1000000000)
SELECT * FROM idempotency_keys WHERE store_id = :store_id AND key = 'pgbench-' || :key || '-' || md5(random()::text);
SAVEPOINT order_savepoint;
SELECT * FROM store_opening_hours WHERE store_id = :store_id ORDER BY weekday, opens_minute;
SELECT * FROM items WHERE store_id = :store_id AND id IN (:item_a, :item_b);
SELECT * FROM option_groups WHERE item_id IN (:item_a, :item_b) ORDER BY position;
SELECT * FROM options WHERE group_id IN (SELECT id FROM option_groups WHERE item_id IN (:item_a, :item_b)) ORDER BY position;
UPDATE stores SET last_order_number = last_order_number + 1, updated_at = now() WHERE id = :store_id RETURNING last_order_number AS number \gset
SELECT gen_random_uuid() AS order_id \gset
INSERT INTO orders (id, store_id, number, customer_name, customer_phone, source, status, fulfilment, address_text, payment_method, currency, subtotal, delivery_fee, total, placed_at, created_at, updated_at, tracking_token) VALUES (:order_id, :store_id, :number, 'Cliente', '5511900000000', 'staff', 'placed', 'delivery', 'Rua Exemplo, 1', 'cash', 'BRL', 5500, 700, 6200, now(), now(), now(), md5(random()::text));
INSERT INTO order_events (id, order_id, store_id, from_status, to_status, actor_type, actor_id, created_at) VALUES (gen_random_uuid(), :order_id, :store_id, NULL, 'placed', 'staff', :user_id, now());
INSERT INTO order_lines (id, order_id, store_id, position, item_id, name, unit_price, quantity, line_total, options, notes) VALUES (gen_random_uuid(), :order_id, :store_id, 0, :item_a, 'Mussarela', 4400, 1, 4400, '[{"group": "Tamanho", "name": "M (6 fatias)", "price": 1200}]', NULL), (gen_random_uuid(), :order_id, :store_id, 1, :item_b, 'Bebida', 550, 2, 1100, '[]', NULL);
INSERT INTO audit_log (id, created_at, store_id, actor_type, actor_id, actor_role, action, target_type, target_id, before, after, ip, request_id) VALUES (gen_random_uuid(), now(), :store_id, 'staff', :user_id, 'store_manager', 'order.created', 'order', :order_id, 'null', '{"number": 1, "status": "placed", "source": "staff", "total": 6200}', '127.0.0.1', md5(random()::text));
INSERT INTO idempotency_keys (id, store_id, key, request_hash, order_id, created_at) VALUES (gen_random_uuid(), :store_id, 'pgbench-' || md5(random()::text), md5(random()::text), :order_id, now());
RELEASE SAVEPOINT order_savepoint;
SELECT * FROM orders WHERE store_id = :store_id AND id = :order_id;
SELECT * FROM order_events WHERE order_id = :order_id ORDER BY created_at;
SELECT * FROM order_lines WHERE order_id = :order_id ORDER BY position;
COMMIT;

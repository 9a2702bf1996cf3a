-- The statements Zapora's staff order creation runs on PostgreSQL (one order of two lines,
-- with an Idempotency-Key). The order number is taken first by an upsert committed on its own
-- without waiting for the disk, as Zapora's numbering connection does. The order's transaction
-- then commits with synchronous_commit on. The two SETs stand in for the numbering
-- connection's own setting and cost the probe two short round trips that Zapora does not make.
-- Variables: store_id, user_id, item_a, item_b.
SET synchronous_commit TO off;
INSERT INTO store_order_counters (store_id, last_number) VALUES (:store_id, 1) ON CONFLICT (store_id) DO UPDATE SET last_number = store_order_counters.last_number + 1 RETURNING last_number AS number, gen_random_uuid() AS order_id \gset
SET synchronous_commit TO on;
BEGIN;
SELECT users.*, stores.* FROM users LEFT JOIN stores ON stores.id = :store_id WHERE users.id = :user_id;
INSERT INTO idempotency_keys (id, store_id, key, request_hash, order_id, created_at) VALUES (gen_random_uuid(), :store_id, 'pgbench-' || md5(random()::text), md5(random()::text), :order_id, now()) ON CONFLICT (store_id, key) DO NOTHING RETURNING id;
SELECT weekday, opens_minute, closes_minute, NULL::date AS day FROM store_opening_hours WHERE store_id = :store_id UNION ALL SELECT NULL, NULL, NULL, day FROM store_closures WHERE store_id = :store_id;
SELECT * FROM items LEFT JOIN option_groups ON option_groups.item_id = items.id LEFT JOIN options ON options.group_id = option_groups.id WHERE items.store_id = :store_id AND items.id IN (:item_a, :item_b) ORDER BY option_groups.position, options.position;
INSERT INTO orders (id, store_id, number, customer_name, customer_phone, source, status, fulfilment, address_text, payment_method, currency, subtotal, delivery_fee, total, placed_at, created_at, updated_at, tracking_token) VALUES (:order_id, :store_id, :number, 'Cliente', '5511900000000', 'staff', 'placed', 'delivery', 'Rua Exemplo, 1', 'cash', 'BRL', 5500, 700, 6200, now(), now(), now(), md5(random()::text));
INSERT INTO order_events (id, order_id, store_id, from_status, to_status, actor_type, actor_id, created_at) VALUES (gen_random_uuid(), :order_id, :store_id, NULL, 'placed', 'staff', :user_id, now());
INSERT INTO order_lines (id, order_id, store_id, position, item_id, name, unit_price, quantity, line_total, options, notes) VALUES (gen_random_uuid(), :order_id, :store_id, 0, :item_a, 'Mussarela', 4400, 1, 4400, '[{"group": "Tamanho", "name": "M (6 fatias)", "price": 1200}]', NULL), (gen_random_uuid(), :order_id, :store_id, 1, :item_b, 'Bebida', 550, 2, 1100, '[]', NULL);
INSERT INTO audit_log (id, created_at, store_id, actor_type, actor_id, actor_role, action, target_type, target_id, before, after, ip, request_id) VALUES (gen_random_uuid(), now(), :store_id, 'staff', :user_id, 'store_manager', 'order.created', 'order', :order_id, 'null', '{"number": 1, "status": "placed", "source": "staff", "total": 6200}', '127.0.0.1', md5(random()::text));
COMMIT;

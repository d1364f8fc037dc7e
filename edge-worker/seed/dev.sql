-- The demo source for local development (never applied in production).
INSERT OR IGNORE INTO sources (id, name, write_key, allowed_origins, settings, created_at)
VALUES ('src_demo', 'Demo shop', 'cairn_demo_key', '["http://127.0.0.1:8787","http://localhost:8787"]', '{"profileTraits":["name","plan","first_seen_on"]}', 0);

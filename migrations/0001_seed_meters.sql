-- Meters every installation starts with (DESIGN §3), plus pantry_items for seed pantry logs.
INSERT INTO `meters` (`key`, `unit`, `kind`, `description`, `created_at`, `updated_at`) VALUES
  ('fax', 'page', 'counter', 'Fax pages delivered', 0, 0),
  ('storage', 'byte', 'gauge', 'Storage in use', 0, 0),
  ('api_call', 'call', 'counter', 'API calls', 0, 0),
  ('pantry_items', 'item', 'counter', 'Food-pantry items taken', 0, 0)
ON CONFLICT (`key`) DO NOTHING;

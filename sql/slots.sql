--
-- slots(): a physical slot made here, its wal_status and retained WAL
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS replroute;
RESET client_min_messages;

SELECT slot_name FROM pg_create_physical_replication_slot('regress_replroute_slot', true);
SELECT pg_create_physical_replication_slot('regress_replroute_lazy');

SELECT slot_name, slot_type, database, active, active_pid,
       restart_lsn IS NOT NULL AS reserved, confirmed_flush_lsn, wal_status,
       retained_bytes >= 0 AS retains,
       retained_bytes <= pg_wal_lsn_diff(pg_current_wal_flush_lsn(), restart_lsn) AS retained_consistent
  FROM replroute.slots()
 WHERE slot_name LIKE 'regress_replroute_%'
 ORDER BY slot_name;

-- WAL written after the slot was made is retained by it
CREATE TABLE regress_replroute_t AS SELECT g FROM generate_series(1, 1000) g;
SELECT pg_switch_wal() IS NOT NULL AS switched;
SELECT retained_bytes > 8192 AS retains_more
  FROM replroute.slots() WHERE slot_name = 'regress_replroute_slot';
DROP TABLE regress_replroute_t;

-- standbys() has nobody to report on a lone primary
SELECT * FROM replroute.standbys();

SELECT pg_drop_replication_slot('regress_replroute_slot');
SELECT pg_drop_replication_slot('regress_replroute_lazy');
SELECT count(*) FROM replroute.slots() WHERE slot_name LIKE 'regress_replroute_%';

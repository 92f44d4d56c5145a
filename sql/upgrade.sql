--
-- The upgrade path: version 1.0 installed, then ALTER EXTENSION UPDATE to
-- the default version (1.1: replroute.probe()), and what 1.1 adds
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS replroute;
CREATE EXTENSION replroute VERSION '1.0';
RESET client_min_messages;

SELECT extversion FROM pg_extension WHERE extname = 'replroute';
-- 1.0 has no probe()
SELECT count(*) FROM pg_proc WHERE proname = 'probe'
   AND pronamespace = 'replroute'::regnamespace;

ALTER EXTENSION replroute UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'replroute';

-- probe(): one line, version 1, the same facts as node_status()
SELECT split_part(p, ' ', 1) AS format,
       split_part(p, ' ', 2) AS role,
       split_part(p, ' ', 3)::bigint = n.system_identifier AS same_sysid,
       split_part(p, ' ', 4)::int = n.timeline AS same_timeline,
       split_part(p, ' ', 5)::pg_lsn <= pg_current_wal_flush_lsn() AS lsn_ok,
       split_part(p, ' ', 6) AS receive_lsn,
       split_part(p, ' ', 7) AS upstream_lsn,
       split_part(p, ' ', 8) AS lag_bytes,
       split_part(p, ' ', 9) AS lag_seconds,
       split_part(p, ' ', 10) AS streaming,
       split_part(p, ' ', 11) AS replay_paused,
       array_length(string_to_array(p, ' '), 1) AS fields
  FROM replroute.probe() p, replroute.node_status() n;

-- its privileges: anyone may call it, like node_status()
SELECT has_function_privilege('public', 'replroute.probe()', 'EXECUTE') AS public_may_call;
SELECT p.provolatile, p.proparallel, p.proisstrict, p.prorettype::regtype
  FROM pg_proc p WHERE p.oid = 'replroute.probe()'::regprocedure;

-- a fresh install at the default version is the same as the upgraded one
SET client_min_messages = warning;
DROP EXTENSION replroute;
CREATE EXTENSION replroute;
RESET client_min_messages;
SELECT extversion FROM pg_extension WHERE extname = 'replroute';
SELECT split_part(replroute.probe(), ' ', 1) AS format;

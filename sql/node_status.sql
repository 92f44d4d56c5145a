--
-- node_status(), is_routable() and wait_for_lsn() on a primary
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS replroute;
RESET client_min_messages;

\x on
-- the standby-only columns are NULL, lag is 0
SELECT role, timeline, lag_bytes, lag_seconds, receive_lsn, upstream_lsn,
       streaming, upstream_contact_seconds, replay_paused, last_replay_time
  FROM replroute.node_status();
\x off

-- the facts agree with core's own functions
SELECT n.system_identifier = c.system_identifier AS same_system_identifier,
       n.wal_lsn <= pg_current_wal_flush_lsn() AS wal_lsn_not_ahead,
       n.wal_lsn > '0/0' AS wal_lsn_valid,
       n.timeline = (SELECT timeline_id FROM pg_control_checkpoint()) AS same_timeline,
       n.server_time BETWEEN now() AND clock_timestamp() AS server_time_is_now
  FROM replroute.node_status() n, pg_control_system() c;

-- exactly one row, thirteen named columns
SELECT count(*) FROM replroute.node_status();
SELECT pg_get_function_result('replroute.node_status()'::regprocedure);

-- a primary is always routable, whatever the limits
SELECT replroute.is_routable();
SELECT replroute.is_routable(0, 0);
SELECT replroute.is_routable(NULL, NULL);
SELECT replroute.is_routable(max_lag_seconds => 0.001);
SELECT replroute.is_routable(9223372036854775807, 'Infinity');

-- a primary has nothing to wait for
CALL replroute.wait_for_lsn(pg_current_wal_lsn());
CALL replroute.wait_for_lsn('0/0', 0);
CALL replroute.wait_for_lsn('FFFFFFFF/FFFFFFFF', 10);

-- the settings, with units
SHOW replroute.max_lag_bytes;
SHOW replroute.max_lag_seconds;
SET replroute.max_lag_bytes = '1GB';
SHOW replroute.max_lag_bytes;
SET replroute.max_lag_bytes = 4096;
SHOW replroute.max_lag_bytes;
SET replroute.max_lag_seconds = '250ms';
SHOW replroute.max_lag_seconds;
SET replroute.max_lag_seconds = 2;
SHOW replroute.max_lag_seconds;
RESET replroute.max_lag_bytes;
RESET replroute.max_lag_seconds;

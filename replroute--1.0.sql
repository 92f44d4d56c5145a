/* replroute--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION replroute" to load this file. \quit

-- The schema is created by CREATE EXTENSION (schema = replroute in the
-- control file); anyone may look into it, functions carry their own grants.
GRANT USAGE ON SCHEMA replroute TO PUBLIC;

--
-- node_status(): everything a router needs to know about this node
--
CREATE FUNCTION replroute.node_status(
    OUT role text,
    OUT system_identifier bigint,
    OUT timeline integer,
    OUT wal_lsn pg_lsn,
    OUT receive_lsn pg_lsn,
    OUT upstream_lsn pg_lsn,
    OUT lag_bytes bigint,
    OUT lag_seconds double precision,
    OUT streaming boolean,
    OUT upstream_contact_seconds double precision,
    OUT replay_paused boolean,
    OUT last_replay_time timestamptz,
    OUT server_time timestamptz)
RETURNS record
AS 'MODULE_PATHNAME', 'replroute_node_status'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

--
-- is_routable(): the one-line health check
--
CREATE FUNCTION replroute.is_routable(
    max_lag_bytes bigint DEFAULT NULL,
    max_lag_seconds double precision DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'replroute_is_routable'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL SAFE;

--
-- standbys(): this node's WAL senders.  Built on pg_stat_replication so
-- that core's masking of other sessions' details applies unchanged.  Like
-- slots(), a SQL function with a fixed search_path, so that no operator or
-- function from the caller's schemas can run inside it; parallel
-- restricted, as the core functions it reads are.
--
CREATE FUNCTION replroute.standbys(
    OUT pid integer,
    OUT application_name text,
    OUT client_addr inet,
    OUT state text,
    OUT sync_state text,
    OUT slot_name name,
    OUT sent_lsn pg_lsn,
    OUT write_lsn pg_lsn,
    OUT flush_lsn pg_lsn,
    OUT replay_lsn pg_lsn,
    OUT lag_bytes bigint,
    OUT write_lag interval,
    OUT flush_lag interval,
    OUT replay_lag interval,
    OUT reply_time timestamptz)
RETURNS SETOF record
LANGUAGE sql STRICT VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r.pid, r.application_name, r.client_addr, r.state, r.sync_state,
           s.slot_name, r.sent_lsn, r.write_lsn, r.flush_lsn, r.replay_lsn,
           CASE WHEN r.replay_lsn IS NOT NULL THEN
               GREATEST(pg_catalog.pg_wal_lsn_diff(n.wal_lsn, r.replay_lsn),
                                   0)::bigint END,
           r.write_lag, r.flush_lag, r.replay_lag, r.reply_time
      FROM pg_catalog.pg_stat_replication r
      CROSS JOIN replroute.node_status() n
      LEFT JOIN pg_catalog.pg_replication_slots s ON s.active_pid = r.pid
     ORDER BY r.pid
$$;

--
-- slots(): replication slots and the WAL each one holds back.  On a
-- standby core's wal_status and safe_wal_size describe nothing useful, so
-- they are NULL there, and retained WAL is measured against what this
-- standby has received or replayed.
--
CREATE FUNCTION replroute.slots(
    OUT slot_name name,
    OUT slot_type text,
    OUT database name,
    OUT active boolean,
    OUT active_pid integer,
    OUT restart_lsn pg_lsn,
    OUT confirmed_flush_lsn pg_lsn,
    OUT wal_status text,
    OUT safe_wal_size bigint,
    OUT retained_bytes bigint)
RETURNS SETOF record
LANGUAGE sql STRICT VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.slot_name, s.slot_type, s.database, s.active, s.active_pid,
           s.restart_lsn, s.confirmed_flush_lsn,
           CASE WHEN n.role = 'primary' THEN s.wal_status END,
           CASE WHEN n.role = 'primary' THEN s.safe_wal_size END,
           CASE WHEN s.restart_lsn IS NOT NULL THEN
               GREATEST(pg_catalog.pg_wal_lsn_diff(
                   CASE WHEN n.role = 'primary' THEN n.wal_lsn
                        ELSE GREATEST(n.wal_lsn, n.receive_lsn) END,
                   s.restart_lsn), 0)::bigint END
      FROM pg_catalog.pg_replication_slots s
      CROSS JOIN replroute.node_status() n
     ORDER BY s.slot_name
$$;

--
-- wait_for_lsn(): wait for replay without holding a snapshot
--
CREATE PROCEDURE replroute.wait_for_lsn(
    target pg_lsn,
    timeout_ms integer DEFAULT 1000,
    INOUT status text DEFAULT NULL)
AS 'MODULE_PATHNAME', 'replroute_wait_for_lsn'
LANGUAGE C;

--
-- Privileges: nothing by default, then explicit grants.
--
REVOKE ALL ON FUNCTION replroute.node_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION replroute.is_routable(bigint, double precision) FROM PUBLIC;
REVOKE ALL ON FUNCTION replroute.standbys() FROM PUBLIC;
REVOKE ALL ON FUNCTION replroute.slots() FROM PUBLIC;
REVOKE ALL ON PROCEDURE replroute.wait_for_lsn(pg_lsn, integer, text) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION replroute.node_status() TO PUBLIC;
GRANT EXECUTE ON FUNCTION replroute.is_routable(bigint, double precision) TO PUBLIC;
GRANT EXECUTE ON PROCEDURE replroute.wait_for_lsn(pg_lsn, integer, text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION replroute.standbys() TO pg_monitor;
GRANT EXECUTE ON FUNCTION replroute.slots() TO pg_monitor;

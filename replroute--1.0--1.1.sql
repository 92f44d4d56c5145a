/* replroute--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION replroute UPDATE TO '1.1'" to load this file. \quit

--
-- probe(): the facts a router reads from node_status(), as cheaply as the
-- server can give them: one text value, called in the target list
-- ("SELECT replroute.probe()"), which needs no function scan and formats no
-- column by column.  Fields, separated by one space: the format's version
-- (1), then role, system_identifier, timeline, wal_lsn, receive_lsn,
-- upstream_lsn, lag_bytes, lag_seconds, streaming, replay_paused, with
-- node_status()'s meanings; NULL is "-", booleans t/f, lag_seconds in
-- seconds with six decimals.  node_status() stays the call for people.
--
CREATE FUNCTION replroute.probe()
RETURNS text
AS 'MODULE_PATHNAME', 'replroute_probe'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

REVOKE ALL ON FUNCTION replroute.probe() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION replroute.probe() TO PUBLIC;

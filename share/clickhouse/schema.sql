-- conntrail.connects: one row per connect, as `conntrail convert --to clickhouse`
-- writes it (RowBinary, these columns in this order). Works on ClickHouse 18.16
-- (Debian 12's) and later.
--
--   clickhouse-client --multiquery < schema.sql            # on every shard
--   conntrail convert host1.ctr --to clickhouse -o - |
--       clickhouse-client --query 'INSERT INTO conntrail.connects FORMAT RowBinary'
--
-- connects_local holds each shard's rows (MergeTree, sorted by host, then
-- time: a host's time window is one range of the primary index);
-- connects is the Distributed table over the cluster named `conntrail`
-- (remote_servers in the server's config, see remote_servers.xml) that
-- inserts and queries go through. Rows are placed by host, so a host's
-- rows live on one shard.
--
-- Columns are the keys of `conntrail script --json` with the same meaning.
-- A key JSON leaves out when unknown is NULL here; the strings exe,
-- cmdline, container, container_name, image, pod, k8s_namespace, path, dname,
-- type and proto are '' when unknown. Addresses
-- are FixedString(16): IPv6 as is, IPv4 as ::ffff:a.b.c.d (IPv4-mapped), so
-- one column sorts and filters both:
--   WHERE daddr = IPv6StringToNum('::ffff:10.0.0.1')
--   WHERE substring(daddr, 1, 12) = IPv6StringToNum('::ffff:0.0.0.0')  -- any IPv4
--   SELECT IPv6NumToString(daddr)
-- ts_ns is the wall-clock time in nanoseconds since the epoch (UTC).
-- The process context (exe, cmdline, container) is on every row: as fast
-- as a join to a process table in a measurement (README.md), about 8 bytes
-- a row compressed, and right where a pid ran two programs.

CREATE DATABASE IF NOT EXISTS conntrail;

CREATE TABLE IF NOT EXISTS conntrail.connects_local
(
    ts_ns       UInt64,                   -- wall clock, ns since 1970 UTC (0: out of range)
    host        String,                   -- the recording host's name
    pid         UInt32,
    tid         UInt32,
    ppid        UInt32,
    uid         UInt32,
    gid         UInt32,
    comm        String,
    exe         String,                   -- '' unknown
    cmdline     String,                   -- arguments joined by spaces, '' unknown
    cgroup_id   UInt64,                   -- 0 unknown
    container   String,                   -- container id, '' none
    sockfd      Int32,                    -- -1: not from connect(2)
    family      String,                   -- 'AF_INET', 'AF_INET6', 'AF_UNIX', ... 'AF_<n>'
    type        String,                   -- 'SOCK_STREAM', ...; '' unknown
    proto       String,                   -- 'tcp', 'udp', ... or the number; '' unknown
    daddr       FixedString(16),          -- IPv6, or IPv4-mapped IPv4; zeros otherwise
    scope_id    UInt32,                   -- IPv6 scope, 0 none
    dport       UInt16,                   -- 0 for other families
    saddr       Nullable(FixedString(16)),-- the local end the kernel chose
    sport       Nullable(UInt16),
    path        String,                   -- AF_UNIX path; abstract names start with '@'
    abstract    UInt8,
    ret         Nullable(Int32),          -- what connect(2) returned: 0 or -errno
    latency_ns  Nullable(UInt64),         -- how long connect(2) took
    result      Nullable(Int32),          -- the final outcome: 0 or -errno; NULL unknown
    result_ns   Nullable(UInt64),         -- attempt to outcome
    outcome     String,                   -- 'ok', 'ECONNREFUSED', ..., 'abandoned', 'unknown'
    closed_ns   Nullable(UInt64),         -- established TCP: attempt to close
    tx_bytes    Nullable(UInt64),
    rx_bytes    Nullable(UInt64),
    still_open  UInt8,                    -- established and open when recording stopped
    dname       String,                   -- the DNS name that resolved to daddr, '' unknown
    container_name String,                -- the container's name, '' unknown
    image       String,                   -- the container's image as asked for, '' unknown
    pod         String,                   -- the Kubernetes pod, '' unknown
    k8s_namespace String                  -- the Kubernetes namespace, '' unknown
)
ENGINE = MergeTree()
PARTITION BY toDate(toDateTime(intDiv(ts_ns, 1000000000)))
ORDER BY (host, ts_ns);

CREATE TABLE IF NOT EXISTS conntrail.connects AS conntrail.connects_local
ENGINE = Distributed(conntrail, conntrail, connects_local, cityHash64(host));

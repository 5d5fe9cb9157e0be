-- Top destinations of the connects a filter keeps, as
--   conntrail report --filter 'comm == "python3" and result != ok'
-- result != ok is true for a failure, an abandoned handshake and an unknown
-- outcome alike, as in report's filter language: ifNull(result, 1) != 0.
-- Columns as destinations.sql.
SELECT
    host,
    multiIf(family = 'AF_INET', concat(replaceOne(IPv6NumToString(daddr), '::ffff:', ''), ':', toString(dport)),
            family = 'AF_INET6', concat('[', IPv6NumToString(daddr), ']:', toString(dport)),
            family = 'AF_UNIX', if(path = '', '(unnamed)', path),
            family) AS dest,
    if(family IN ('AF_INET', 'AF_INET6'), proto, '') AS proto_key,
    count() AS connects,
    uniqExact(comm, exe) AS programs,
    countIf(outcome NOT IN ('ok', 'abandoned', 'unknown')) AS failed,
    min(ts_ns) AS first_ns,
    max(ts_ns) AS last_ns
FROM conntrail.connects
WHERE comm = 'python3' AND ifNull(result, 1) != 0
GROUP BY host, family, proto_key, daddr, dport, path
ORDER BY connects DESC, first_ns ASC
LIMIT 10

-- Top destinations in a time window, as `conntrail report --since T --until T`
-- (both ends inclusive, UTC): edit the two times. Columns as destinations.sql.
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
WHERE ts_ns >= toUInt64(toDateTime('2026-01-15 09:10:00', 'UTC')) * 1000000000
  AND ts_ns <= toUInt64(toDateTime('2026-01-15 09:11:00', 'UTC')) * 1000000000
GROUP BY host, family, proto_key, daddr, dport, path
ORDER BY connects DESC, first_ns ASC
LIMIT 10

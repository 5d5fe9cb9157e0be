-- Top destinations, as `conntrail report --by dest` (and the first section of
-- `conntrail report`): connects, distinct programs (comm, exe) that
-- connected, failed connects (a final outcome known and not ok), first and
-- last connect. A destination is (host, family, protocol, address, port) for
-- IP, (host, path) for AF_UNIX, (host, family) otherwise, named by the family
-- (report says "family 5"): the same destination on two hosts is two rows.
-- Ordered as report orders them: connects, then first connect.
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
-- Only a time window, as `conntrail report --since T --until T` (both ends
-- inclusive, UTC), or only the connects a filter keeps, as
--   conntrail report --filter 'comm == "python3" and result != ok'
-- : uncomment the WHERE wanted and edit it. result != ok is true for a
-- failure, an abandoned handshake and an unknown outcome alike, as in
-- report's filter language: ifNull(result, 1) != 0.
-- WHERE ts_ns >= toUInt64(toDateTime('2026-01-15 09:10:00', 'UTC')) * 1000000000
--   AND ts_ns <= toUInt64(toDateTime('2026-01-15 09:11:00', 'UTC')) * 1000000000
-- WHERE comm = 'python3' AND ifNull(result, 1) != 0
GROUP BY host, family, proto_key, daddr, dport, path
ORDER BY connects DESC, first_ns ASC
LIMIT 10

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
GROUP BY host, family, proto_key, daddr, dport, path
ORDER BY connects DESC, first_ns ASC
LIMIT 10

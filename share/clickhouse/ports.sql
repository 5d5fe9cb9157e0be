-- Ports, as the ports section of `conntrail report` (--by port): IP connects
-- by (protocol, destination port): connects, distinct destinations (host,
-- address), failed connects. Ordered by connects, then port.
SELECT
    proto,
    dport AS port,
    count() AS connects,
    uniqExact(host, family, daddr) AS destinations,
    countIf(outcome NOT IN ('ok', 'abandoned', 'unknown')) AS failed
FROM conntrail.connects
WHERE family IN ('AF_INET', 'AF_INET6')
GROUP BY proto, port
ORDER BY connects DESC, port ASC, proto ASC
LIMIT 10

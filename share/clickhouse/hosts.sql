-- Per host: connects, failed connects, distinct destinations, programs
-- (comm, exe) and pids, first and last connect. The same numbers as
-- `conntrail report --json` on that host's files alone (events, the failed
-- outcome classes, destinations_total, processes_total, span).
SELECT
    host,
    count() AS connects,
    countIf(outcome NOT IN ('ok', 'abandoned', 'unknown')) AS failed,
    uniqExact(family, if(family IN ('AF_INET', 'AF_INET6'), proto, ''), daddr, dport, path)
        AS destinations,
    uniqExact(comm, exe) AS programs,
    uniqExact(pid) AS pids,
    min(ts_ns) AS first_ns,
    max(ts_ns) AS last_ns
FROM conntrail.connects
GROUP BY host
ORDER BY connects DESC, host ASC

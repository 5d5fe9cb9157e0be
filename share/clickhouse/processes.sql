-- Top processes, as `conntrail report --by process`: a program is (host,
-- comm, exe); its connects, distinct pids, failed connects, and the command
-- line most of its processes ran (processes_destinations.sql lists where
-- each one connected). Ordered by connects, then comm.
SELECT
    host,
    comm,
    exe,
    sum(n) AS connects,
    count() AS pids,
    sum(f) AS failed,
    topKIf(1)(cmd, cmd != '')[1] AS cmdline
FROM
(
    SELECT host, comm, exe, pid,
           count() AS n,
           countIf(outcome NOT IN ('ok', 'abandoned', 'unknown')) AS f,
           any(cmdline) AS cmd
    FROM conntrail.connects
    GROUP BY host, comm, exe, pid
)
GROUP BY host, comm, exe
ORDER BY connects DESC, comm ASC
LIMIT 10

-- Final outcomes in report's classes (`conntrail report --by result`): a TCP
-- connect that returned EINPROGRESS counts as what its handshake came to.
-- Failures are refused, timeout, unreachable, denied and other; an abandoned
-- handshake (closed by its program first) and an unknown outcome are not.
SELECT
    multiIf(outcome = 'abandoned', 'abandoned',
            isNull(result), 'unknown',
            ifNull(result, 1) = 0, 'success',
            ifNull(result, 1) = -111, 'refused',
            ifNull(result, 1) = -110, 'timeout',
            ifNull(result, 1) IN (-101, -113), 'unreachable',
            ifNull(result, 1) IN (-13, -1), 'denied',
            'other') AS class,
    count() AS connects
FROM conntrail.connects
GROUP BY class
ORDER BY connects DESC, class ASC

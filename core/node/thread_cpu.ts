/** CPU time of the calling thread alone, for splitting a multi-threaded process's CPU time. */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on every Linux build). */
const USER_HZ = 100;

/**
 * CPU milliseconds (user + system) this thread has used, from /proc/thread-self/stat, at USER_HZ
 * resolution; null where there is no such file (not Linux). process.cpuUsage() counts every thread
 * of the process, and Node 20 has no per-thread counter.
 */
export function threadCpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // Fields after the command name (which may hold spaces) start at state, field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
  } catch {
    return null;
  }
}

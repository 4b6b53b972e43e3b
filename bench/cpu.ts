// CPU accounting from /proc: a process's CPU time, the machine's busy time, and what other processes used meanwhile.
import { readFileSync } from "node:fs";

/** User + system CPU time of a process in ms from /proc/<pid>/stat (clock ticks of 10 ms), or null elsewhere. */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/** Busy CPU time of the whole machine in ms from /proc/stat (all cores, idle and iowait excluded), or null. */
export function machineCpuMs(): number | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    return (total - (ticks[3] ?? 0) - (ticks[4] ?? 0)) * 10;
  } catch {
    return null;
  }
}

/** Runs `work` and reports the CPU other processes used meanwhile, in % of one core (null off Linux). */
export async function withOtherCpu<T>(work: () => Promise<T>): Promise<{ result: T; otherCpuPercent: number | null }> {
  const machine0 = machineCpuMs();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await work();
  const elapsed = performance.now() - t0;
  const self = process.cpuUsage(self0);
  const machine1 = machineCpuMs();
  if (machine0 === null || machine1 === null) return { result, otherCpuPercent: null };
  const other = Math.max(0, machine1 - machine0 - (self.user + self.system) / 1000);
  return { result, otherCpuPercent: (other / elapsed) * 100 };
}

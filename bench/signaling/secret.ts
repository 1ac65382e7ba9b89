/** The token secret the benchmark's Parley server and load generator share. */
export const BENCH_SECRET = 'bench-secret-0123456789abcdef';

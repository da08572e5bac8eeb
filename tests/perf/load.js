// k6 load test of a deployed environment (the seed's CI step 14), run by .github/workflows/deploy.yml:
//   BASE_URL=https://staging.example K6_PATHS=/api/memory/readyz,... P95_MS=100 P99_MS=500 k6 run tests/perf/load.js
// P95_MS / P99_MS / K6_PATHS come from the inventory (`scripts/release_checks.py k6-env`); the
// defaults below are the seed's success criteria (P95 < 100 ms, P99 < 500 ms). A breached
// threshold makes k6 exit non-zero, which fails the workflow.
import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = __ENV.BASE_URL;
const PATHS = (__ENV.K6_PATHS || '/healthz').split(',').filter((p) => p.length > 0);
const P95_MS = Number(__ENV.P95_MS || 100);
const P99_MS = Number(__ENV.P99_MS || 500);

export const options = {
  scenarios: {
    steady: {
      executor: 'ramping-arrival-rate',
      startRate: 10,
      timeUnit: '1s',
      preAllocatedVUs: 20,
      maxVUs: 100,
      stages: [
        { target: 50, duration: '1m' },
        { target: 50, duration: '3m' },
        { target: 0, duration: '30s' },
      ],
    },
  },
  thresholds: {
    http_req_duration: [`p(95)<${P95_MS}`, `p(99)<${P99_MS}`],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
  },
};

export function setup() {
  if (!BASE_URL) {
    throw new Error('BASE_URL is required');
  }
}

export default function () {
  const path = PATHS[Math.floor(Math.random() * PATHS.length)];
  const response = http.get(`${BASE_URL}${path}`, { tags: { path } });
  check(response, { 'status is 200': (r) => r.status === 200 });
}

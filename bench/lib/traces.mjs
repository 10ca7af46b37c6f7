// Where ../shared/traces (real client requests, one JSON per line) is: TRACES_DIR, beside the checkout, or
// beside a worktree under wt/; undefined when none exists (a bench then says it is skipped).
import fs from 'node:fs';
import path from 'node:path';

export const traceDir = (sourceDir) => [process.env.TRACES_DIR, '../shared/traces', '../../shared/traces'].filter(Boolean)
  .map((d) => path.resolve(sourceDir, d)).find((d) => fs.existsSync(d));

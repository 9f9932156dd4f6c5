#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (the `prepare` script).
import('../dist/src/cli.js').then((cli) => cli.main(process.argv)).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/src/cli.js')) {
    console.error('ibex: the build is missing (dist/). Run `npm run build` in the package folder.');
    process.exit(1);
  }
  console.error(err);
  process.exit(1);
});

/**
 * `hashcheck`: the command line of the known-bad hash service. The commands live in `cli/`; this entry
 * only hands them the process's arguments, streams and environment, and sets the exit status.
 */
import { runCli } from '../cli/main.js';

// The exit status is set rather than forced, so standard output drains before the process ends.
process.exitCode = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});

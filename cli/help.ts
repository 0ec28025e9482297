/** The `--help` texts: what each command does, its options, and examples to copy. */

/** Options every command takes, `import` included. */
const SHARED_OPTIONS = `Options for every command:
  --url URL            the service (env HASHCHECK_URL; default http://127.0.0.1:3000,
                       the local server of npm start); a deployed API is its stage URL
  --json               results as JSON (see the command's help)
  --timeout SECONDS    how long one request may take (default 30)
  --retries N          retries on 429, 502, 503, 504 and connection failures, with
                       backoff and jitter, honouring Retry-After (default 3)
  -q, --quiet          no progress line, notes or summary on standard error
  -h, --help           help (hashcheck COMMAND --help: the command's own options)
  -V, --version        the version`;

/** Options of `lookup` and `scan`, which look hashes up with an API key. */
const COMMON_OPTIONS = `Options of lookup and scan:
  --url URL            the service (env HASHCHECK_URL; default http://127.0.0.1:3000,
                       the local server of npm start); a deployed API is its stage URL
  --api-key KEY        sent as x-api-key (env HASHCHECK_API_KEY)
  --json               one JSON object per result per line
  --csv                CSV with a header row
  --timeout SECONDS    how long one request may take (default 30)
  --retries N          retries on 429, 502, 503, 504 and connection failures, with
                       backoff and jitter, honouring Retry-After (default 3)
  --concurrency N      requests (and files) in flight at once (default 4)
  -q, --quiet          no progress line, notes or summary on standard error
  --no-progress        no progress line, even on a terminal
  -h, --help           this help
  -V, --version        the version`;

const EXIT_STATUS = `Exit status:
  0  nothing known-bad was found
  1  something known-bad was found
  2  an error: bad arguments, input or files that could not be read, the service
     unreachable, a 503 or any answer that is not complete. A lookup that failed is
     never reported as unknown.`;

/** `hashcheck --help`. */
export const MAIN_HELP = `hashcheck: is this file, or this hash, on the known-bad list?

Usage:
  hashcheck lookup [options] [HASH...]   look up MD5, SHA-1 or SHA-256 hashes: arguments,
                                         -f FILE or standard input (lists, sha256sum
                                         output, CSV exports)
  hashcheck scan [options] PATH...       hash files and folders here and look them up
  hashcheck import [options] FILE        add a feed to the list (administrators): CSV,
                                         JSON Lines, hash lists, STIX 2.1, MISP; its
                                         options and exit status: import --help
  hashcheck help [COMMAND]               help on a command

A hash or file is "malicious" when it is on the known-bad list, "unknown" otherwise:
unknown means "not on the list", never "safe".

${SHARED_OPTIONS}

${EXIT_STATUS}

Examples:
  hashcheck lookup f3d4144860ca10ba60f7ef4d176cc736
  sha256sum /opt/app/*.dll | hashcheck lookup --bad-only
  hashcheck lookup -f edr-export.csv --column SHA256 --json > verdicts.jsonl
  hashcheck scan /mnt/share/installers
  HASHCHECK_URL=https://abc123.execute-api.eu-west-1.amazonaws.com/prod \\
    HASHCHECK_API_KEY=... hashcheck scan ~/Downloads

Run "hashcheck COMMAND --help" for the options of a command.
`;

/** `hashcheck lookup --help`. */
export const LOOKUP_HELP = `Usage: hashcheck lookup [options] [HASH...]

Looks hashes up in the known-bad list, in input order, in batches of up to 10,000,
writing the results as they are answered.
The hashes come from the arguments, from -f FILE, or else from standard input.

Input, one entry per line:
  - a bare MD5, SHA-1 or SHA-256 hash, any case
  - sha256sum, sha1sum or md5sum output: "<hash>  <path>" or "<hash> *<path>"
  - tagged lines: "SHA256 (<path>) = <hash>"
  - hashdeep lines: "<size>,<md5>,<sha256>,<path>" (both hashes are looked up)
  - blank lines, lines starting with # and hashdeep's %%%% headers are skipped
  - with --column NAME: CSV with a header row; the hashes are in column NAME
    (quoted fields with commas, quotes and line breaks are read as CSV allows)
Lines that are not hashes are reported with their line numbers: in the results
(verdict "invalid"), or on standard error with --bad-only. They do not change the
exit status unless --strict is given, or no line at all is a hash. An input with
no hash in it (an empty file, only blank lines and comments) exits 2.

Options:
  -f, --file FILE      read the list from FILE ("-" for standard input)
  --column NAME        read CSV and take the hashes from the column NAME
  --strict             exit 2, looking nothing up, if any line is not a hash
  --bad-only           print only the known-bad results

${COMMON_OPTIONS}

JSON results: {"line":3,"input":"...","hash":"...","algorithm":"md5",
  "verdict":"malicious","match":{...},"name":"<path of a checksum line>",
  "row":{<the CSV row>}}, or {"line":7,"input":"...","verdict":"invalid","error":"..."}
CSV results: the same fields as columns, and with --column the input row's own
  columns after them, as row.<name> (row.Host, row.Path, ...)

${EXIT_STATUS}

Examples:
  hashcheck lookup F3D4144860CA10BA60F7EF4D176CC736 $(openssl rand -hex 32)
  hashcheck lookup -f hashes.txt
  sha256sum -b downloads/* | hashcheck lookup --bad-only
  hashcheck lookup -f edr-export.csv --column "SHA256" --csv > verdicts.csv
  hashcheck lookup -f iocs.txt --json | jq -c 'select(.verdict == "malicious")'
  hashcheck lookup --strict -f feed.txt && echo "nothing known-bad"
`;

/** `hashcheck scan --help`. */
export const SCAN_HELP = `Usage: hashcheck scan [options] PATH...

Walks files and folders, computes MD5, SHA-1 and SHA-256 of every regular file here
in one pass, looks the digests up in bulk and prints the known-bad files (every file
with --all) in walk order. With --upload the files are sent to the service to be
digested there instead: up to 4 MiB in the request, larger ones through a presigned
upload (up to 5 GiB). A progress line (files, bytes, rate, time left) is drawn on
standard error when it is a terminal.

Symbolic links inside folders are not followed unless --follow is given (as find and
hashdeep do): they are counted in the summary. A PATH given that is a link is followed.
With --follow, link loops and broken links are reported and skipped. Special files
(devices, FIFOs, sockets) are reported and skipped. Files and folders that cannot be read are reported and the scan
goes on, but the scan is then incomplete and the exit status is 2, even when known-bad
files were found; --ignore-unreadable keeps reporting them without the status 2.

Archives and installers (ZIP, 7z, tar, gzip, CAB, MSI, DMG, ISO..., recognised by their bytes, not their
names) are opened here and every member is digested too, down to nested archives; only digests are sent. A
file is malicious when it or any member is known-bad, and the member is named with its path
(setup.zip → bin/ffmpeg.dll). An archive that could not be fully opened (encrypted, damaged, a format not
read, a limit reached) without a known-bad member makes the exit status 2, the reasons on standard error.

Options:
  --all                print every file checked, not only the known-bad ones
  --follow             follow symbolic links inside folders
  --upload             send the files to the service instead of hashing them here
  --wait SECONDS       how long the service may take to scan one upload (default 900)
  --ignore-unreadable  unreadable files and folders do not make the exit status 2
  --no-members         do not open archives: judge each file by its own digests only

${COMMON_OPTIONS}

JSON results: {"path":"...","size":68,"md5":"...","sha1":"...","sha256":"...",
  "verdict":"malicious","matches":[{...}]}

${EXIT_STATUS}

Examples:
  hashcheck scan ~/Downloads
  hashcheck scan --all --csv /opt/3CXDesktopApp > inventory.csv
  hashcheck scan --json --ignore-unreadable / 2>scan-errors.log
  hashcheck scan --upload suspicious-installer.msi
  HASHCHECK_URL=https://abc123.execute-api.eu-west-1.amazonaws.com/prod hashcheck scan /srv
`;

/** `hashcheck import --help`. */
export const IMPORT_HELP = `Usage: hashcheck import [options] FILE

Adds a feed to the known-bad list through POST /v1/admin/imports (administrators
only) and prints the service's report: how many records were added, updated, left
unchanged or left revoked, and every rejected input with its line and reason. FILE
may be "-" for standard input.

Formats, detected from the content unless --format names one:
  jsonl   the project's records, one JSON object per line
  csv     a header row naming sha256, sha1 or md5 and the record's fields
  plain   one hash per line, or sha256sum/md5sum, tagged or hashdeep output; needs --campaign and --source
  stix    a STIX 2.1 bundle: file-hash indicators and file objects
  misp    a MISP event (md5, sha1, sha256 and filename|hash attributes, file objects)
Imports are idempotent: importing a feed again changes nothing, and a revoked record
stays revoked. A JSON Lines, CSV or plain file over 1 MiB is sent in requests of 1 MiB
of whole records (CSV with its header on each), --concurrency at once, so that each
ends well within a deployed API's 29 s; the report adds them up. A STIX bundle or MISP
event over 4 MiB (the most the service takes) cannot be split and is refused here.

Provenance (a plain list has none of its own; other feeds carry theirs):
  --campaign TEXT      the campaign or incident; replaces the feed's own
  --source TEXT        where the hashes come from (a report URL, "EDR export 2024-05");
                       used where the feed names no source
  --kind KIND          installer, library, executable, payload, stealer, test-file or
                       other; used where the feed gives none (default other)
  --platform TEXT      windows, macos, linux, ...; used where the feed gives none
                       (default unspecified)
  --confidence TEXT    high, medium or low; replaces the feed's own (default medium)

Options:
  --format FORMAT      jsonl, csv, plain, stix or misp, instead of detecting it
  --dry-run            check the feed here with the service's own parser and send
                       nothing: the inputs that would be rejected, and why
  --url URL            the service (env HASHCHECK_URL; default http://127.0.0.1:3000)
  --admin-key KEY      the admin key, sent as x-api-key (env HASHCHECK_ADMIN_KEY): the
                       HASHCHECK_ADMIN_KEY the local server was started with
  --aws-sigv4          sign the request with AWS Signature V4 (service execute-api)
                       with the default AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID,
                       SSO, instance roles): a deployed API's admin routes take IAM
                       only. Automatic without an admin key when the URL is an
                       execute-api host
  --region REGION      the region to sign for when the URL does not name one (a custom
                       domain); default AWS_REGION, then AWS_DEFAULT_REGION
  --json               the report as one JSON object: {"format","total","added",
                       "updated","unchanged","revoked","rejected":[{"line","input",
                       "reason"}],"requests"}; line is null for STIX and MISP inputs;
                       with --dry-run {"dryRun":true,"format","total","valid",
                       "rejected","requests"}
  --concurrency N      requests of a split feed in flight at once (default 4); deployed,
                       the table's write capacity, not this, sets the pace
  --timeout SECONDS    how long one request may take (default 30)
  --retries N          retries of a request on 429, 5xx and connection failures, with
                       backoff (default 3); imports are idempotent, so this is safe
  -q, --quiet          no notes on standard error
  -h, --help           this help
  -V, --version        the version

Exit status:
  0  every input was imported, or was already on the list as it is
  1  some inputs were rejected (listed with their reasons); the others were imported
  2  an error: bad arguments, a file that cannot be read or is too large, the feed
     refused as a whole, admin credentials refused, the service unreachable or a
     request still failing after its retries. When a feed sent in several requests
     stops part way, the message says how many records were written; running the
     same command again is safe and finishes the import.

Examples:
  HASHCHECK_ADMIN_KEY=... hashcheck import advisory-2024-17.stix.json
  hashcheck import --campaign "Incident 42" --source "EDR export" hashes.txt
  hashcheck import --json misp-event-1234.json | jq '.rejected'
  hashcheck import --dry-run --format csv vendor-iocs.csv
  HASHCHECK_URL=https://abc123.execute-api.eu-west-1.amazonaws.com/prod hashcheck import feed.jsonl
`;

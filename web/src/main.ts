import { Api, ApiProblem, loadConfig } from './api.js';
import { announce, byId, h } from './dom.js';
import { formatBytes, formatCount } from './format.js';
import { batches, extractHashes } from './hash-lines.js';
import { FileCard, hashResults, type LineResult } from './render.js';
import { ScanTimeout, checkFile, waitForVerdict } from './scan-files.js';

/** The key lives for this tab only: closing it forgets the key. */
const KEY_STORAGE = 'hashcheck.apiKey';
/** Files checked at once; more would only compete for the same upload bandwidth. */
const PARALLEL_FILES = 3;

function storedKey(): string | undefined {
  try {
    return sessionStorage.getItem(KEY_STORAGE) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Work to redo once a key is entered: the checks that failed for want of one. */
const waitingForKey = new Set<() => void>();

function setUpApiKey(): void {
  const section = byId('api-key-section');
  const form = byId<HTMLFormElement>('api-key-form');
  const input = byId<HTMLInputElement>('api-key');
  if (storedKey()) section.hidden = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (key === '') {
      input.setAttribute('aria-invalid', 'true');
      announce('Enter a key first.');
      input.focus();
      return;
    }
    input.removeAttribute('aria-invalid');
    sessionStorage.setItem(KEY_STORAGE, key);
    input.value = '';
    input.placeholder = 'Key saved for this tab';
    byId('api-key-help').textContent = 'A key is saved for this browser tab and sent with each check. Enter another to replace it.';
    announce('API key saved for this tab.');
    const redo = [...waitingForKey];
    waitingForKey.clear();
    for (const run of redo) run();
  });
  byId('api-key-clear').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_STORAGE);
    input.value = '';
    input.placeholder = '';
    byId('api-key-help').textContent = 'No key is saved. Checks are sent without one until you enter a key.';
    announce('API key forgotten.');
  });
}

/** Shows the key field, says why, and moves focus there so the next keystrokes go to the key. */
function askForKey(message: string, retry: () => void): void {
  const section = byId('api-key-section');
  section.hidden = false;
  byId('api-key-help').textContent = `${message} The key is kept in this browser tab only.`;
  waitingForKey.add(retry);
  byId('api-key').focus();
}

function messageOf(error: unknown): string {
  if (error instanceof ApiProblem || error instanceof ScanTimeout) return error.message;
  return 'Something went wrong in this page. Reload it and try again.';
}

function setUpFiles(api: Api): void {
  const input = byId<HTMLInputElement>('file-input');
  const zone = byId('drop-zone');
  const results = byId('file-results');
  const queue: (() => Promise<void>)[] = [];
  let running = 0;

  const pump = () => {
    while (running < PARALLEL_FILES && queue.length > 0) {
      const next = queue.shift()!;
      running += 1;
      void next().finally(() => {
        running -= 1;
        pump();
      });
    }
  };

  const check = async (card: FileCard): Promise<void> => {
    try {
      const verdict = await checkFile(api, card.file, (stage) => {
        if (stage.stage === 'sending') card.status('Sending and checking…', null);
        else if (stage.stage === 'uploading') {
          const percent = stage.total === 0 ? 100 : Math.floor((stage.loaded / stage.total) * 100);
          card.status(`Uploading: ${percent}% of ${formatBytes(stage.total)}`, stage);
        } else card.status('Uploaded. Checking the file…', null);
      });
      card.verdict(verdict);
    } catch (error) {
      showProblem(card, error);
    }
  };

  const showProblem = (card: FileCard, error: unknown) => {
    const again = () => {
      card.status('Waiting to be checked…');
      queue.push(() => check(card));
      pump();
    };
    if (error instanceof ScanTimeout) {
      card.problem(error.message, {
        label: 'Keep waiting',
        run: () => {
          card.status('Checking the file…', null);
          void waitForVerdict(api, error.uploadId, 60_000).then(
            (verdict) => card.verdict(verdict),
            (next: unknown) => showProblem(card, next),
          );
        },
      });
    } else if (error instanceof ApiProblem && error.kind === 'needs-key') {
      card.problem(error.message, { label: 'Try again', run: again });
      askForKey(error.message, again);
    } else {
      card.problem(messageOf(error), { label: 'Try again', run: again });
    }
  };

  const add = (files: readonly File[]) => {
    if (files.length === 0) return;
    announce(`Checking ${files.length === 1 ? files[0]!.name : `${formatCount(files.length)} files`}…`);
    for (const file of files) {
      const card = new FileCard(file);
      results.prepend(card.element);
      queue.push(() => check(card));
    }
    results.hidden = false;
    pump();
  };

  input.addEventListener('change', () => {
    add([...(input.files ?? [])]);
    // The same file picked again is a new check: clear the input so `change` fires again.
    input.value = '';
  });
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('drag-over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('drag-over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('drag-over');
    add([...(event.dataTransfer?.files ?? [])]);
  });
  // A file dropped next to the zone would otherwise replace the page with the file itself.
  for (const type of ['dragover', 'drop'] as const) {
    window.addEventListener(type, (event) => {
      if (event.dataTransfer?.types.includes('Files')) event.preventDefault();
    });
  }
}

function setUpHashes(api: Api): void {
  const form = byId<HTMLFormElement>('hash-form');
  const textarea = byId<HTMLTextAreaElement>('hash-input');
  const submit = byId<HTMLButtonElement>('hash-submit');
  const results = byId('hash-results');

  const showError = (message: string) => {
    results.replaceChildren(
      h('div', { class: 'notice notice-error', role: 'alert' }, h('span', { class: 'notice-icon', 'aria-hidden': 'true' }, '×'), h('p', {}, message)),
    );
  };

  const run = async () => {
    const pasted = extractHashes(textarea.value);
    if (pasted.length === 0) {
      textarea.setAttribute('aria-invalid', 'true');
      showError('Paste at least one hash first: one per line.');
      textarea.focus();
      return;
    }
    textarea.removeAttribute('aria-invalid');
    submit.disabled = true;
    submit.textContent = 'Checking…';
    results.replaceChildren(h('p', { class: 'status' }, `Checking ${formatCount(pasted.length)} ${pasted.length === 1 ? 'hash' : 'hashes'}…`));
    results.setAttribute('aria-busy', 'true');
    try {
      const rows: LineResult[] = [];
      for (const batch of batches(pasted)) {
        const answer = await api.lookupHashes(batch.map((p) => p.value));
        if (answer.results.length !== batch.length) {
          throw new ApiProblem('failed', 'The service answered for a different number of lines than were sent. Try again.');
        }
        answer.results.forEach((result, i) => rows.push({ pasted: batch[i]!, result }));
      }
      const report = hashResults(rows);
      results.replaceChildren(report.element);
      report.heading.focus();
      announce(report.summary);
    } catch (error) {
      const message = messageOf(error);
      showError(message);
      if (error instanceof ApiProblem && error.kind === 'needs-key') askForKey(message, () => void run());
    } finally {
      submit.disabled = false;
      submit.textContent = 'Check hashes';
      results.removeAttribute('aria-busy');
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void run();
  });
  byId('hash-clear').addEventListener('click', () => {
    textarea.value = '';
    textarea.removeAttribute('aria-invalid');
    results.replaceChildren();
    textarea.focus();
  });
}

async function start(): Promise<void> {
  const config = await loadConfig();
  const api = new Api({ baseUrl: new URL(config.apiUrl, document.baseURI), apiKey: storedKey });
  setUpApiKey();
  setUpFiles(api);
  setUpHashes(api);
  document.body.dataset['ready'] = 'true';
}

start().catch((error: unknown) => {
  const main = document.getElementById('main');
  main?.prepend(h('p', { class: 'notice notice-error', role: 'alert' }, `The page could not start: ${String(error)}. Reload it to try again.`));
});

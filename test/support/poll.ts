export { pollUntil } from '../../local/poll.js';

// What an agent may cost the server before its machine is ended (see
// agent-session.ts): everything the agent sends is untrusted, so each way it
// could make the server hold memory or wait has a bound, here in one place.

/** Output kept for a terminal nobody listens to yet (between open and the first onData). */
export const UNHEARD_OUTPUT_LIMIT = 256 * 1024;
/** Bytes queued toward the agent past which reader input is refused (and the reader's socket paused) until it drains. */
export const INPUT_QUEUE_LIMIT = 256 * 1024;
/** How long the agent may leave that queue full before it is taken for stopped and its machine ended. */
export const AGENT_STALL_MS = 20_000;
/** How long an open may wait for Opened, and an exec for ExecDone past its own timeout. */
export const AGENT_ANSWER_MS = 20_000;
/**
 * Output an agent may still send on a channel after it was asked to pause:
 * what it had read from the pty and what sits in the socket's buffers (≈ 330
 * KiB at most seen), with room to spare. Past it, the agent ignores Pause.
 */
export const PAUSED_OVERRUN_LIMIT = 2 * 1024 * 1024;
/** Data for channels that are not open (an honest agent sends none). */
export const STRAY_DATA_LIMIT = 1024 * 1024;
/** Log records an agent may have dropped (over its budget) before it is taken for a flood. */
export const LOG_FLOOD_LIMIT = 5000;

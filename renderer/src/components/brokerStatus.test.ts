import { describe, expect, it } from 'vitest';
import { brokerStatusLine, REASON_CHARS } from './brokerStatus';

const time = (ms: number): string => `t${ms}`;

describe('brokerStatusLine', () => {
  it('shows nothing while the broker serves, or when there is no embedded broker', () => {
    expect(brokerStatusLine({ state: 'serving', restarts: 2 }, time)).toBeUndefined();
    expect(brokerStatusLine(null, time)).toBeUndefined();
    expect(brokerStatusLine(undefined, time)).toBeUndefined();
  });

  it('says while it restarts why it stopped, which attempt this is, and that reports are lost meanwhile', () => {
    const line = brokerStatusLine(
      { state: 'restarting', restarts: 0, attempt: 3, since: 1_000, lastError: "The embedded MQTT broker's thread exited (code 1); cameras cannot publish to it until it is started again." },
      time,
    );
    expect(line).toEqual({
      text: "The camera message broker stopped (The embedded MQTT broker's thread exited (code 1); cameras cannot publish to it until it is started again); restarting (attempt 3) — reports from cameras are lost until it is back",
      detail: "Stopped at t1000. The embedded MQTT broker's thread exited (code 1); cameras cannot publish to it until it is started again.",
      severity: 'warning',
    });
  });

  it('cuts a long reason in the line and keeps all of it in the detail', () => {
    const lastError = `Another program took 127.0.0.1:41883, the port the cameras publish to. ${'Stop it. '.repeat(20)}`;
    const line = brokerStatusLine({ state: 'restarting', restarts: 1, attempt: 7, since: 5, lastError }, time)!;
    const reason = /stopped \((.*)\); restarting/.exec(line.text)![1]!;
    expect(reason.length).toBeLessThanOrEqual(REASON_CHARS);
    expect(reason.length).toBeGreaterThan(REASON_CHARS - 3); // less only by the spaces trimmed before the ellipsis
    expect(reason.startsWith('Another program took 127.0.0.1:41883, the port the cameras publish to.')).toBe(true);
    expect(reason.endsWith('…')).toBe(true);
    expect(line.detail).toBe(`Stopped at t5. ${lastError}`);
  });

  it('is critical when the broker did not start at all', () => {
    expect(brokerStatusLine({ state: 'failed', restarts: 0, lastError: 'The embedded MQTT broker did not start within 30 s.' }, time)).toEqual({
      text: 'The camera message broker did not start (The embedded MQTT broker did not start within 30 s) — cameras cannot report until OmniSight is restarted',
      detail: 'The embedded MQTT broker did not start within 30 s.',
      severity: 'critical',
    });
  });
});

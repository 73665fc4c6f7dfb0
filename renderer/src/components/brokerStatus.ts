// The embedded MQTT broker's health as one line of the status bar, as a pure function so its words
// are tested. Nothing while it serves (or with an external broker): the line is there only while
// camera reports are being lost. Its coming back is a toast from main ("Camera message broker is back").
import type { BrokerHealth } from '../../../preload/contract';

/** The reason is cut to this many characters in the line; the whole of it is in the tooltip. */
export const REASON_CHARS = 140;

export interface BrokerStatusLine {
  text: string;
  /** The whole reason and since when, for the tooltip. */
  detail: string;
  severity: 'warning' | 'critical';
}

const cut = (s: string): string => (s.length > REASON_CHARS ? `${s.slice(0, REASON_CHARS - 1).trimEnd()}…` : s);

/** `time` formats the moment it stopped (the locale's clock time in the app). */
export function brokerStatusLine(h: BrokerHealth | null | undefined, time: (ms: number) => string): BrokerStatusLine | undefined {
  if (!h || h.state === 'serving') return undefined;
  const reason = h.lastError.replace(/\.$/, '');
  if (h.state === 'restarting')
    return {
      text: `The camera message broker stopped (${cut(reason)}); restarting (attempt ${h.attempt}) — reports from cameras are lost until it is back`,
      detail: `Stopped at ${time(h.since)}. ${h.lastError}`,
      severity: 'warning',
    };
  return {
    text: `The camera message broker did not start (${cut(reason)}) — cameras cannot report until OmniSight is restarted`,
    detail: h.lastError,
    severity: 'critical',
  };
}

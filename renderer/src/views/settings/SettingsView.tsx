// Settings: each change is checked before it is saved (settingsCore), and a problem is shown next
// to the field it concerns. The external broker is chosen together with its address.
import * as Switch from '@radix-ui/react-switch';
import { useState, type ReactNode } from 'react';
import type { Settings, SettingsPatch } from '../../../../preload/contract';
import { ErrorLine } from '../../components/ErrorLine';
import { useApp } from '../../stores/app';
import { CallError, transport } from '../../transport';
import { checkPatch, serverErrors, type FieldErrors } from './settingsCore';

function Row({ label, hint, htmlFor, error, children }: { label: string; hint?: string; htmlFor: string; error?: string; children: ReactNode }) {
  return (
    <div className="form-row">
      <label htmlFor={htmlFor}>
        {label}
        {hint && <small>{hint}</small>}
      </label>
      <div>
        {children}
        {error && (
          <p role="alert" id={`${htmlFor}-error`} className="error small">
            {error}
          </p>
        )}
      </div>
    </div>
  );
}

function Toggle({ id, checked, onChange }: { id: string; checked: boolean; onChange: (v: boolean) => void }) {
  return (
    <Switch.Root id={id} className="switch" checked={checked} onCheckedChange={onChange}>
      <Switch.Thumb className="switch-thumb" />
    </Switch.Root>
  );
}

export function SettingsView() {
  const settings = useApp((s) => s.settings);
  const loadError = useApp((s) => s.loadError);
  const [saved, setSaved] = useState<string>();
  const [errors, setErrors] = useState<FieldErrors & { form?: string }>({});
  const [pending, setPending] = useState(false);
  // The broker as chosen on the form: "external" is saved only together with a valid address.
  const [mode, setMode] = useState<Settings['mqttMode']>();
  const [brokerUrl, setBrokerUrl] = useState<string>();
  const [feedUrl, setFeedUrl] = useState<string>();

  if (!settings) return loadError ? <ErrorLine error={`The settings could not be read: ${loadError}`} className="error" /> : <p className="empty">Loading settings…</p>;
  const shownMode = mode ?? settings.mqttMode;

  const save = async (patch: SettingsPatch, what: string): Promise<boolean> => {
    setSaved(undefined);
    const found = checkPatch(patch, settings);
    const keys = Object.keys(patch) as (keyof Settings)[];
    // Problems of this change replace those of the fields it touches; others stay until fixed.
    const rest = Object.fromEntries(Object.entries(errors).filter(([k]) => !keys.includes(k as keyof Settings) && k !== 'form'));
    if (Object.keys(found).length) {
      setErrors({ ...rest, ...found });
      return false;
    }
    setPending(true);
    try {
      const next = await transport().call('settings.set', patch);
      useApp.setState({ settings: next });
      setErrors(rest);
      setSaved(`${what} saved`);
      return true;
    } catch (err) {
      setErrors({ ...rest, ...(err instanceof CallError ? serverErrors(err.error) : { form: (err as Error).message }) });
      return false;
    } finally {
      setPending(false);
    }
  };
  const pick =
    <K extends keyof Settings>(key: K, what: string) =>
    (value: Settings[K]) =>
      void save({ [key]: value } as SettingsPatch, what);
  const invalid = (k: keyof Settings): { 'aria-invalid'?: true; 'aria-describedby'?: string } => (errors[k] ? { 'aria-invalid': true, 'aria-describedby': `${k}-error` } : {});

  const chooseMode = (m: Settings['mqttMode']): void => {
    setMode(m);
    if (m === 'embedded') void save({ mqttMode: 'embedded' }, 'Broker').then((ok) => ok && setMode(undefined));
    else setErrors(({ mqttUrl: _drop, ...e }) => e);
  };
  const saveBroker = (): void => {
    const url = (brokerUrl ?? settings.mqttUrl).trim();
    void save({ mqttMode: 'external', mqttUrl: url }, 'External broker').then((ok) => ok && setMode(undefined));
  };

  return (
    <section className="view settings">
      <header className="view-header">
        <h1>Settings</h1>
        <p role="status" aria-live="polite" className="saved">
          {pending ? 'Saving…' : saved}
        </p>
      </header>
      <ErrorLine error={errors.form} className="error" />

      <fieldset>
        <legend>Appearance</legend>
        <Row label="Theme" hint="System follows your operating system." htmlFor="theme" error={errors.theme}>
          <select id="theme" value={settings.theme} onChange={(e) => pick('theme', 'Theme')(e.target.value as Settings['theme'])}>
            <option value="system">System</option>
            <option value="dark">Dark</option>
            <option value="light">Light</option>
          </select>
        </Row>
      </fieldset>

      <fieldset>
        <legend>Camera fleet</legend>
        <Row label="Simulated fleet" hint="Runs a simulated ARTPEC fleet when no real camera is set up." htmlFor="demoFleet" error={errors.demoFleet}>
          <Toggle id="demoFleet" checked={settings.demoFleet} onChange={pick('demoFleet', 'Simulated fleet')} />
        </Row>
        <Row label="Simulated cameras" hint="1 to 64." htmlFor="demoCameraCount" error={errors.demoCameraCount}>
          <input
            id="demoCameraCount"
            type="number"
            min={1}
            max={64}
            step={1}
            defaultValue={settings.demoCameraCount}
            key={settings.demoCameraCount}
            {...invalid('demoCameraCount')}
            onBlur={(e) => {
              const n = e.target.value.trim() === '' ? Number.NaN : Number(e.target.value);
              if (n !== settings.demoCameraCount) void save({ demoCameraCount: n }, 'Simulated cameras');
            }}
          />
        </Row>
      </fieldset>

      <fieldset>
        <legend>Timeline</legend>
        <Row
          label="Keep history for"
          hint="Hours, 1 to 2160 (90 days). Tracks and interventions older than this are deleted; a shorter period deletes at once."
          htmlFor="timelineRetentionHours"
          error={errors.timelineRetentionHours}
        >
          <input
            id="timelineRetentionHours"
            type="number"
            min={1}
            max={2160}
            step={1}
            defaultValue={settings.timelineRetentionHours}
            key={settings.timelineRetentionHours}
            {...invalid('timelineRetentionHours')}
            onBlur={(e) => {
              const n = e.target.value.trim() === '' ? Number.NaN : Number(e.target.value);
              if (n !== settings.timelineRetentionHours) void save({ timelineRetentionHours: n }, 'Timeline history');
            }}
          />
        </Row>
      </fieldset>

      <fieldset>
        <legend>MQTT broker</legend>
        <Row label="Broker" hint="The embedded broker serves one desktop and a handful of cameras." htmlFor="mqttMode" error={errors.mqttMode}>
          <select id="mqttMode" value={shownMode} onChange={(e) => chooseMode(e.target.value as Settings['mqttMode'])}>
            <option value="embedded">Embedded (this computer)</option>
            <option value="external">External broker or cluster</option>
          </select>
        </Row>
        {shownMode === 'external' && (
          <Row
            label="Broker URL"
            hint={settings.mqttMode === 'external' ? 'mqtt://host:1883 or mqtts://host:8883' : 'Not in use until saved: mqtt://host:1883 or mqtts://host:8883'}
            htmlFor="mqttUrl"
            error={errors.mqttUrl}
          >
            <form
              className="inline"
              noValidate
              onSubmit={(e) => {
                e.preventDefault();
                saveBroker();
              }}
            >
              <input
                id="mqttUrl"
                type="url"
                defaultValue={settings.mqttUrl}
                onChange={(e) => setBrokerUrl(e.target.value)}
                placeholder="mqtts://broker.example:8883"
                {...invalid('mqttUrl')}
              />
              <button type="submit" disabled={pending}>
                {settings.mqttMode === 'external' ? 'Save' : 'Use this broker'}
              </button>
              {settings.mqttMode !== 'external' && (
                <button type="button" onClick={() => chooseMode('embedded')}>
                  Cancel
                </button>
              )}
            </form>
          </Row>
        )}
      </fieldset>

      <fieldset>
        <legend>Notifications and logs</legend>
        <Row label="Desktop notifications" htmlFor="notifications" error={errors.notifications}>
          <Toggle id="notifications" checked={settings.notifications} onChange={pick('notifications', 'Notifications')} />
        </Row>
        <Row label="Log level" hint="Logs are written to the logs folder inside the data folder." htmlFor="logLevel" error={errors.logLevel}>
          <select id="logLevel" value={settings.logLevel} onChange={(e) => pick('logLevel', 'Log level')(e.target.value as Settings['logLevel'])}>
            <option value="debug">Debug</option>
            <option value="info">Info</option>
            <option value="warn">Warnings</option>
            <option value="error">Errors only</option>
          </select>
        </Row>
      </fieldset>

      <fieldset>
        <legend>Software updates</legend>
        <Row label="Check for updates automatically" hint="Installed desktop app only. Off until you turn it on; updates install when you quit." htmlFor="autoUpdate">
          <Toggle id="autoUpdate" checked={settings.autoUpdate} onChange={pick('autoUpdate', 'Automatic updates')} />
        </Row>
        <Row label="Update feed" hint="The https address of the folder that holds latest.yml." htmlFor="updateFeedUrl">
          <form
            className="inline"
            onSubmit={(e) => {
              e.preventDefault();
              void save({ updateFeedUrl: feedUrl ?? settings.updateFeedUrl }, 'Update feed');
            }}
          >
            <input id="updateFeedUrl" type="url" defaultValue={settings.updateFeedUrl} onChange={(e) => setFeedUrl(e.target.value)} placeholder="https://updates.example/omnisight/" />
            <button type="submit">Save</button>
          </form>
        </Row>
      </fieldset>
    </section>
  );
}

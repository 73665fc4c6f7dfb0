import * as Switch from '@radix-ui/react-switch';
import { useState, type ReactNode } from 'react';
import type { Settings, SettingsPatch } from '../../../../preload/contract';
import { useApp } from '../../stores/app';

function Row({ label, hint, htmlFor, children }: { label: string; hint?: string; htmlFor: string; children: ReactNode }) {
  return (
    <div className="form-row">
      <label htmlFor={htmlFor}>
        {label}
        {hint && <small>{hint}</small>}
      </label>
      <div>{children}</div>
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
  const error = useApp((s) => s.settingsError);
  const update = useApp((s) => s.updateSettings);
  const [saved, setSaved] = useState<string>();
  const [brokerUrl, setBrokerUrl] = useState<string>();
  const [feedUrl, setFeedUrl] = useState<string>();

  if (!settings) return <p className="empty">Loading settings…</p>;

  const save = async (patch: SettingsPatch, what: string): Promise<void> => {
    setSaved(undefined);
    if (await update(patch)) setSaved(`${what} saved`);
  };
  const pick = <K extends keyof Settings>(key: K, what: string) => (value: Settings[K]) => void save({ [key]: value } as SettingsPatch, what);

  return (
    <section className="view settings">
      <header className="view-header">
        <h1>Settings</h1>
        <p role="status" aria-live="polite" className="saved">
          {saved}
        </p>
      </header>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}

      <fieldset>
        <legend>Appearance</legend>
        <Row label="Theme" hint="System follows your operating system." htmlFor="theme">
          <select id="theme" value={settings.theme} onChange={(e) => pick('theme', 'Theme')(e.target.value as Settings['theme'])}>
            <option value="system">System</option>
            <option value="dark">Dark</option>
            <option value="light">Light</option>
          </select>
        </Row>
      </fieldset>

      <fieldset>
        <legend>Camera fleet</legend>
        <Row label="Simulated fleet" hint="Runs a simulated ARTPEC fleet when no real camera is set up." htmlFor="demoFleet">
          <Toggle id="demoFleet" checked={settings.demoFleet} onChange={pick('demoFleet', 'Simulated fleet')} />
        </Row>
        <Row label="Simulated cameras" hint="1 to 64." htmlFor="demoCameraCount">
          <input
            id="demoCameraCount"
            type="number"
            min={1}
            max={64}
            defaultValue={settings.demoCameraCount}
            key={settings.demoCameraCount}
            onBlur={(e) => {
              const n = Number(e.target.value);
              if (n !== settings.demoCameraCount) void save({ demoCameraCount: n }, 'Simulated cameras');
            }}
          />
        </Row>
      </fieldset>

      <fieldset>
        <legend>MQTT broker</legend>
        <Row label="Broker" hint="The embedded broker serves one desktop and a handful of cameras." htmlFor="mqttMode">
          <select id="mqttMode" value={settings.mqttMode} onChange={(e) => pick('mqttMode', 'Broker')(e.target.value as Settings['mqttMode'])}>
            <option value="embedded">Embedded (this computer)</option>
            <option value="external">External broker or cluster</option>
          </select>
        </Row>
        {settings.mqttMode === 'external' && (
          <Row label="Broker URL" hint="mqtt://host:1883 or mqtts://host:8883" htmlFor="mqttUrl">
            <form
              className="inline"
              onSubmit={(e) => {
                e.preventDefault();
                void save({ mqttUrl: brokerUrl ?? settings.mqttUrl }, 'Broker URL');
              }}
            >
              <input id="mqttUrl" type="url" defaultValue={settings.mqttUrl} onChange={(e) => setBrokerUrl(e.target.value)} placeholder="mqtts://broker.example:8883" />
              <button type="submit">Save</button>
            </form>
          </Row>
        )}
      </fieldset>

      <fieldset>
        <legend>Notifications and logs</legend>
        <Row label="Desktop notifications" htmlFor="notifications">
          <Toggle id="notifications" checked={settings.notifications} onChange={pick('notifications', 'Notifications')} />
        </Row>
        <Row label="Log level" hint="Logs are written to the logs folder inside the data folder." htmlFor="logLevel">
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

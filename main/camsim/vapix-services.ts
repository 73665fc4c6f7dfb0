// /vapix/services: the SOAP web-service entry (event service and friends). Only the event service's
// GetEventInstances is served (the topics this device can send); every other action gets the SOAP
// fault firmware gives for an action it does not support.
import { methodNotAllowed, readBody, send, type Route } from './http-kit';
import type { DeviceEvent } from './vapix-mqtt';

const MAX_SOAP = 64 * 1024;
const xmlEscape = (s: string): string => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

const envelope = (body: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:wstop="http://docs.oasis-open.org/wsn/t-1" xmlns:tns1="http://www.onvif.org/ver10/topics" xmlns:tnsaxis="http://www.axis.com/2009/event/topics" xmlns:aev="http://www.axis.com/vapix/ws/event1" xmlns:ter="http://www.onvif.org/ver10/error" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><SOAP-ENV:Body>${body}</SOAP-ENV:Body></SOAP-ENV:Envelope>\n`;

/** Topic levels with the prefixes SOAP uses; a level without one keeps the namespace of the level above. */
function levels(topic: string): string[] {
  let ns = 'tns1';
  return topic.split('/').map((l) => {
    const m = /^([A-Za-z0-9]+):(.*)$/.exec(l);
    if (m) ns = m[1] === 'onvif' ? 'tns1' : m[1] === 'axis' ? 'tnsaxis' : m[1]!;
    return `${ns}:${m ? m[2] : l}`;
  });
}

interface Node {
  children: Map<string, Node>;
  event?: DeviceEvent;
}

/** The device's topics as one nested topic set (shared levels merged). */
function topicSetXml(events: DeviceEvent[]): string {
  const root: Node = { children: new Map() };
  for (const ev of events) {
    let n = root;
    for (const l of levels(ev.topic)) {
      let c = n.children.get(l);
      if (!c) n.children.set(l, (c = { children: new Map() }));
      n = c;
    }
    n.event = ev;
  }
  const items = (o: Record<string, string>, data: boolean, property: boolean): string =>
    Object.keys(o)
      .map((k) => `<aev:SimpleItemInstance Name="${xmlEscape(k)}" Type="xsd:string"${data && property ? ' isPropertyState="true"' : ''}/>`)
      .join('');
  const render = (n: Node): string =>
    [...n.children.entries()]
      .map(([name, c]) => {
        const ev = c.event;
        const leaf = ev
          ? `<aev:MessageInstance${ev.property ? ' isProperty="true"' : ''}><aev:SourceInstance>${items(ev.source, false, ev.property)}</aev:SourceInstance><aev:DataInstance>${items(ev.data, true, ev.property)}</aev:DataInstance></aev:MessageInstance>`
          : '';
        return `<${name}${ev ? ' wstop:topic="true"' : ''}>${leaf}${render(c)}</${name}>`;
      })
      .join('');
  return render(root);
}

export function servicesRoutes(o: { events: () => DeviceEvent[] }): Route[] {
  return [
    {
      path: '/vapix/services',
      need: 'viewer',
      handle: async (req, res) => {
        if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
        const body = (await readBody(req, MAX_SOAP))?.toString('utf8') ?? '';
        if (/<(\w+:)?GetEventInstances\b/.test(body)) {
          return send(res, 200, 'application/soap+xml; charset=utf-8', envelope(`<aev:GetEventInstancesResponse><wstop:TopicSet>${topicSetXml(o.events())}</wstop:TopicSet></aev:GetEventInstancesResponse>`));
        }
        return send(
          res,
          500,
          'application/soap+xml; charset=utf-8',
          envelope('<SOAP-ENV:Fault><SOAP-ENV:Code><SOAP-ENV:Value>SOAP-ENV:Sender</SOAP-ENV:Value><SOAP-ENV:Subcode><SOAP-ENV:Value>ter:ActionNotSupported</SOAP-ENV:Value></SOAP-ENV:Subcode></SOAP-ENV:Code><SOAP-ENV:Reason><SOAP-ENV:Text xml:lang="en">The requested action is not supported by this device</SOAP-ENV:Text></SOAP-ENV:Reason></SOAP-ENV:Fault>'),
        );
      },
    },
  ];
}

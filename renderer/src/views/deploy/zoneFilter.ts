// Camera selection filters for the Deploy view: free text and the site zone a camera covers. Zones
// come from the swarm (swarm.status says which camera serials cover each zone; swarm.zones gives
// the names); cameras are matched by serial because that is how the swarm knows them.

export interface ZoneOption {
  id: string;
  name: string;
  /** Serials of the cameras covering the zone. */
  serials: readonly string[];
}

export interface FilterableCamera {
  name: string;
  model: string;
  firmware: string;
  soc: string;
  serial: string;
}

/** One option per zone with coverage, named when the zone configuration names it, in name order. */
export function zoneOptions(
  coverage: readonly { zone: string; covering: readonly string[] }[],
  names: readonly { id: string; name: string }[] = [],
): ZoneOption[] {
  const nameOf = new Map(names.map((z) => [z.id, z.name]));
  return coverage
    .map((z) => ({ id: z.zone, name: nameOf.get(z.zone) ?? z.zone, serials: [...z.covering] }))
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
}

/** Cameras matching the text (name, model, firmware, SoC) and, when a zone is chosen, covering it. */
export function filterCameras<C extends FilterableCamera>(cameras: readonly C[], text: string, zone: string, zones: readonly ZoneOption[]): C[] {
  const f = text.trim().toLowerCase();
  // A zone that is no longer known covers nobody: showing everything would make "Select shown" too broad.
  const inZone = zone ? new Set(zones.find((z) => z.id === zone)?.serials ?? []) : undefined;
  return cameras.filter(
    (c) => (!inZone || inZone.has(c.serial)) && (!f || `${c.name} ${c.model} ${c.firmware} ${c.soc}`.toLowerCase().includes(f)),
  );
}

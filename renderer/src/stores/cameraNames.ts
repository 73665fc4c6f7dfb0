// The fleet's names, read once and kept by the fleet's events, for every view that shows a camera.
import { useEffect, useMemo } from 'react';
import { ignoreBecause } from '../data/ignore';
import { subscribeFleet, useFleet } from '../views/cameras/fleetStore';
import { namesFrom, type CameraNames } from './cameraNamesCore';

let loaded = false;
/** Id or serial → name; empty until the fleet list arrives (views show ids shortened meanwhile). */
export function useCameraNames(): CameraNames {
  const cameras = useFleet((s) => s.cameras);
  useEffect(() => {
    subscribeFleet();
    if (!loaded) {
      loaded = true;
      void useFleet
        .getState()
        .load()
        .catch(ignoreBecause('names fall back to shortened ids until the fleet list arrives'));
    }
  }, []);
  return useMemo(() => namesFrom(cameras ?? []), [cameras]);
}

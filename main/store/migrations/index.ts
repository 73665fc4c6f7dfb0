import type { Migration } from '../migrate';
import { m0001_core } from './0001_core';

/**
 * Every migration, in order. Numbers are never reused or changed once released; a capability that
 * needs tables adds the next free number here. Ranges keep parallel work from colliding:
 * 1–99 core, 100–199 fleet and deploy, 200–299 rooms and agents, 300–399 swarm and perf,
 * 400–499 timeline and federated.
 */
export const migrations: readonly Migration[] = [m0001_core];

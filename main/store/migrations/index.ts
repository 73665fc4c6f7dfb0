import type { Migration } from '../migrate';
import { m0001_core } from './0001_core';
import { m0100_fleet } from './0100_fleet';
import { m0150_deploy } from './0150_deploy';
import { m0160_deploy_approvals } from './0160_deploy_approvals';
import { m0170_deploy_model } from './0170_deploy_model';
import { m0180_fleet_tls } from './0180_fleet_tls';
import { m0181_deploy_stages } from './0181_deploy_stages';
import { m0200_rooms } from './0200_rooms';
import { m0250_assist } from './0250_assist';
import { m0260_rooms_votes } from './0260_rooms_votes';
import { m0261_agent_nonces } from './0261_agent_nonces';
import { m0300_swarm } from './0300_swarm';
import { m0310_swarm_replay } from './0310_swarm_replay';
import { m0400_timeline } from './0400_timeline';
import { m0401_timeline_calibration_source } from './0401_timeline_calibration_source';
import { m0405_timeline_calibration_camera_id } from './0405_timeline_calibration_camera_id';
import { m0406_timeline_calibration_include_area } from './0406_timeline_calibration_include_area';
import { m0410_timeline_history } from './0410_timeline_history';
import { m0430_federated } from './0430_federated';
import { m0440_federated_fl1 } from './0440_federated_fl1';
import { m0450_review } from './0450_review';

/**
 * Every migration, in order. Numbers are never reused or changed once released; a capability that
 * needs tables adds the next free number here. Ranges keep parallel work from colliding:
 * 1–99 core, 100–199 fleet and deploy, 200–299 rooms and agents, 300–399 swarm and perf,
 * 400–499 timeline and federated.
 */
export const migrations: readonly Migration[] = [m0001_core, m0100_fleet, m0150_deploy, m0160_deploy_approvals, m0170_deploy_model, m0180_fleet_tls, m0181_deploy_stages, m0200_rooms, m0250_assist, m0260_rooms_votes, m0261_agent_nonces, m0300_swarm, m0310_swarm_replay, m0400_timeline, m0401_timeline_calibration_source, m0405_timeline_calibration_camera_id, m0406_timeline_calibration_include_area, m0410_timeline_history, m0430_federated, m0440_federated_fl1, m0450_review];

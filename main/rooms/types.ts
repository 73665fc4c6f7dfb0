// The types of rooms: the service's surface and its inputs (re-exported by index.ts).
import type {
  Author,
  Decision,
  FileInfo,
  Member,
  Message,
  Presence,
  Proposal,
  Room,
  RoomListItem,
  SearchHit,
  Task,
  quorumRules,
  speechActs,
  voteChoices,
} from '../../preload/contract';
import type { AppError } from '../kernel/errors';
import type { Handlers } from '../kernel/dispatcher';

export type { Author, Decision, FileInfo, Member, Message, Presence, Proposal, Room, RoomListItem, SearchHit, Task };
export type SpeechAct = (typeof speechActs)[number];
export type QuorumRule = (typeof quorumRules)[number];
export type VoteChoice = (typeof voteChoices)[number];

export interface PostMessageInput {
  roomId: string;
  author: Author;
  text: string;
  act?: SpeechAct;
  /** Id of the message this one answers (a thread). */
  replyTo?: number;
  /** Names or ids; "@name" words in the text are added automatically. */
  mentions?: string[];
  /** File ids from uploadFile in the same room. */
  attachments?: string[];
  channel?: string;
  /** Set by the agent bridge after checking an Ed25519 signature. */
  signed?: boolean;
  verified?: boolean;
}

export interface ListMessagesInput {
  roomId: string;
  /** Oldest first, strictly after this id (resume). */
  after?: number;
  /** Newest first, strictly before this id (paging back). */
  before?: number;
  thread?: number;
  channel?: string;
  limit: number;
}

export interface CreateRoomInput {
  name: string;
  roles?: string[];
  vetoRoles?: string[];
  /** Besides the owner, people with this role approve actions on cameras. */
  approverRole?: string;
  defaultRule?: QuorumRule;
  maxFileBytes?: number;
  quotaBytes?: number;
  /** Member id of the owner; the local user unless given. The owner joins as coordinator. */
  owner?: Author;
}

export interface AddMemberInput {
  roomId: string;
  member: Author;
  roles?: string[];
  weight?: number;
  /** People vote by default, agents only when given a vote. */
  canVote?: boolean;
  /** Who asks; when given it must be the room's owner. */
  by?: string;
}

export interface ProposeInput {
  roomId: string;
  by: Author;
  title: string;
  subject: string;
  outcome: string;
  text?: string;
  rule?: QuorumRule;
  deadlineMs?: number;
  kind?: 'general' | 'deploy';
}

export interface VoteInput {
  proposalId: number;
  /** Member id of the voter; the weight comes from the member row, never from the voter. */
  voter: string;
  choice: VoteChoice;
  veto?: boolean;
}

export type PostResult = { ok: true; message: Message } | { ok: false; error: AppError };

export interface RoomsService {
  createRoom(input: CreateRoomInput): Room;
  getRoom(roomId: string): Room;
  listRooms(member?: string): RoomListItem[];
  addMember(input: AddMemberInput): Member;
  updateMember(input: { roomId: string; memberId: string; roles?: string[]; weight?: number; canVote?: boolean; by: string }): Member;
  /** Adds the author with these roles if not yet a member; returns the member either way. */
  ensureMember(roomId: string, author: Author, roles: string[]): Member;
  getMember(roomId: string, memberId: string): Member | undefined;
  listMembers(roomId: string): Member[];

  /** Commits the message, then publishes `rooms.message`; returns only after the commit. */
  postMessage(input: PostMessageInput): Message;
  /** Group commit: all in one transaction; each input succeeds or fails on its own. */
  postMany(inputs: PostMessageInput[]): PostResult[];
  /**
   * The agent bridge's path: checked now (a refusal rejects at once), committed with everything
   * queued in the same turn by the writer thread without blocking the event loop, then published.
   * Resolves only after the commit: an acknowledged message is on disk.
   */
  postQueued(input: PostMessageInput): Promise<Message>;
  /** recordDelivery, carried by the next group commit instead of a commit of its own. */
  recordDeliveryLater(memberId: string, marks: { roomId: string; upTo: number }[]): void;
  /** Resolves once every queued write has committed. */
  flushWrites(): Promise<void>;
  /** Messages and group commits through the queued path (posts / commits = batch size). */
  writeStats(): { posts: number; commits: number; mode: 'worker' | 'inline' };
  listMessages(input: ListMessagesInput): { messages: Message[]; hasMore: boolean };
  getMessage(id: number): Message | undefined;
  /** Resolves with the messages after `after` as soon as there is at least one (or [] at the timeout). */
  waitForMessages(input: { roomId: string; after: number; timeoutMs: number; excludeAuthor?: string; limit?: number }): Promise<Message[]>;
  markRead(roomId: string, memberId: string, upTo: number): number;
  /**
   * Records that a recipient received every message of these rooms up to the given ids (a room's
   * messages reach a recipient in order, so one mark per room acknowledges them all). Returns how
   * many marks moved forward.
   */
  recordDelivery(memberId: string, marks: { roomId: string; upTo: number }[]): number;
  /** Recipients that acknowledged this message, with the time of the acknowledgement that covered it. */
  deliveries(messageId: number): { memberId: string; at: number }[];

  listTasks(roomId: string): Task[];
  createTask(input: { roomId: string; title: string; assignee?: string; by: string }): Task;
  updateTask(input: { taskId: number; assignee?: string | null; progress?: number; done?: boolean; by: string; roomId?: string }): Task;

  propose(input: ProposeInput): Proposal;
  vote(input: VoteInput): Proposal;
  getProposal(id: number): Proposal;
  listProposals(roomId: string, status?: Proposal['status']): Proposal[];
  /** Closes every open proposal whose deadline has passed (the timer calls it too). */
  closeDueVotes(): Proposal[];
  listDecisions(roomId: string): Decision[];

  uploadFile(input: { roomId: string; name: string; data: Buffer; mime?: string; by: string }): FileInfo;
  /** A chunked upload: announced with its size (checked against the room's limits), chunks in order, then finished. */
  beginUpload(input: { roomId: string; name: string; size: number; mime?: string; by: string }): { uploadId: string; chunkBytes: number };
  uploadChunk(input: { uploadId: string; index: number; data: Buffer; by: string }): { received: number; size: number };
  finishUpload(input: { uploadId: string; by: string }): FileInfo;
  cancelUpload(input: { uploadId: string; by: string }): boolean;
  listFiles(roomId: string): { files: FileInfo[]; usedBytes: number; quotaBytes: number };
  readFile(fileId: string): { file: FileInfo; data: Buffer };

  search(input: { query: string; roomId?: string; limit: number }): SearchHit[];

  setPresence(memberId: string, name: string, state: Presence['state']): void;
  presenceOf(memberId: string): Presence['state'];

  handlers: Handlers;
  close(): void;
}

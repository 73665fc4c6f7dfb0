import { useState, type FormEvent } from 'react';
import type { Member, Task } from '../../../../../preload/contract';
import { ErrorLine } from '../../../components/ErrorLine';
import { useAction } from '../../../data/useAction';
import { useQuery } from '../../../data/useQuery';
import { transport } from '../../../transport';
import { ME } from '../parts';
import { sortTasks, upsertById } from '../roomCore';

type Tasks = { tasks: Task[] };

export function TasksPanel({ roomId, members }: { roomId: string; members: Member[] }) {
  const q = useQuery('rooms.tasks', { roomId }, { apply: { 'rooms.task': (prev, t) => (prev && t.roomId === roomId ? { ...prev, tasks: upsertById(prev.tasks, t) } : prev) } });
  const tasks = q.data?.tasks ?? [];
  const [title, setTitle] = useState('');
  const [assignee, setAssignee] = useState('');
  const put = (t: Task): void => q.apply((prev: Tasks | undefined) => (prev ? { ...prev, tasks: upsertById(prev.tasks, t) } : prev));
  const create = useAction(async () => {
    put(await transport().call('rooms.taskCreate', { roomId, title, ...(assignee ? { assignee } : {}) }));
    setTitle('');
  });
  // Shown at once (a checkbox must tick when clicked), then replaced by what the service stored.
  const update = useAction(async (taskId: number, patch: { assignee?: string | null; progress?: number; done?: boolean }) => {
    const before = tasks.find((t) => t.id === taskId);
    if (before) put({ ...before, ...patch });
    try {
      put(await transport().call('rooms.taskUpdate', { taskId, ...patch }));
    } catch (err) {
      if (before) put(before);
      throw err;
    }
  });

  return (
    <div className="tasks">
      <form
        className="inline"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          void create.run();
        }}
        aria-label="New task"
      >
        <input aria-label="Task title" value={title} onChange={(e) => setTitle(e.target.value)} placeholder="What needs doing" maxLength={300} required />
        <select aria-label="Assign the new task to" value={assignee} onChange={(e) => setAssignee(e.target.value)}>
          <option value="">Unassigned</option>
          {members.map((m) => (
            <option key={m.id} value={m.id}>
              {m.id === ME ? 'You' : m.name}
            </option>
          ))}
        </select>
        <button type="submit" disabled={create.pending}>
          Add
        </button>
      </form>
      <ErrorLine error={q.error ?? create.error ?? update.error} />
      {tasks.length === 0 ? (
        <p className="empty small">No tasks. Add one above; agents can update them with update_task.</p>
      ) : (
        <ul className="task-list" aria-label="Tasks">
          {sortTasks(tasks).map((t) => (
            <li key={t.id} className={t.done ? 'task done' : 'task'}>
              <label className="task-title">
                <input type="checkbox" checked={t.done} onChange={(e) => void update.run(t.id, { done: e.target.checked })} aria-label={`Done: ${t.title}`} />
                {t.title}
              </label>
              <select aria-label={`Assignee of ${t.title}`} value={t.assignee ?? ''} onChange={(e) => void update.run(t.id, { assignee: e.target.value || null })}>
                <option value="">Unassigned</option>
                {members.map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.id === ME ? 'You' : m.name}
                  </option>
                ))}
                {t.assignee && !members.some((m) => m.id === t.assignee) && <option value={t.assignee}>{t.assignee}</option>}
              </select>
              <input
                type="range"
                min={0}
                max={100}
                step={10}
                value={t.progress}
                aria-label={`Progress of ${t.title}`}
                onChange={(e) => void update.run(t.id, { progress: Number(e.target.value) })}
              />
              <span className="small muted nums">{t.progress}%</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

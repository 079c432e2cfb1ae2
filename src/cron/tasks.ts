import type { TaskMessage } from "../domain/queue-messages";
import { log } from "../http/log";
import { archiveHistory } from "../services/archive-history";
import { closeSubjectPeriods } from "../services/close-subject-periods";
import { reconcileSubject } from "../services/reconcile-subject";
import { scanSubjects } from "../services/scan-subjects";

export async function runTask(env: Env, task: TaskMessage): Promise<void> {
  switch (task.task) {
    case "scan-subjects":
      return scanSubjects(env, task);
    case "close-periods": {
      const closed = await closeSubjectPeriods(env, task.subjectId, task.asOf);
      log("info", "rollover.subject_closed", { subjectId: task.subjectId, periods: closed.length });
      return;
    }
    case "reconcile":
      return reconcileSubject(env, task.subjectId, task.runId);
    case "archive-history":
      return archiveHistory(env, task);
  }
}

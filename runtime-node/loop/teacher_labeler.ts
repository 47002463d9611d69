/**
 * The closed loop's teacher labeller (`edgeseg loop --labeller teacher:<model>`): answers label
 * requests with a teacher model's masks instead of people's — the same machinery as `edgeseg
 * label` (trainer/teacher/): the frame is read from the feedback store, the teacher's pet log-odds
 * become a trimap at the frame's size with the border band, and the answer names its labeller
 * (`teacher:<name>@<version>`), which the feedback store keeps with each sample. A frame where
 * the teacher is unsure over most of the picture gets no answer (a person may still label it);
 * a frame with no pet is answered with an all-background mask, since that is what it shows.
 */
import { existsSync, readFileSync } from 'node:fs';
import { encodeMaskPng, FEEDBACK_SCHEMA_MESSAGE, RAW_RGB8, toBase64, type FeedbackMessage, type LabelRequestMessage, type PixelImage } from '../../core/index.js';
import { decodeImage } from '../../core/node/decode_image.js';
import { FeedbackStore } from '../../core/node/feedback_store.js';
import { DEFAULT_BORDER_RULE, DEFAULT_SKIP_RULE, teacherTrimap, verdictOf, type BorderRule } from '../../trainer/teacher/border.js';
import { openTeacher, resizeFloatMap, type Teacher } from '../../trainer/teacher/teacher.js';
import type { Transport } from '../transport/transport.js';
import { RequestLabeler, type RequestLabelerOptions } from './request_labeler.js';

/** `teacher:<model ref>` → the ref, or null when the labeller is not a teacher. */
export function teacherRefOf(labeller: string): string | null {
  return labeller.startsWith('teacher:') && labeller.length > 'teacher:'.length ? labeller.slice('teacher:'.length) : null;
}

export interface TeacherLabelerOptions extends RequestLabelerOptions {
  /** The teacher: a model directory or registry ref. */
  teacher: string;
  /** Registry root the ref is resolved in. @default 'models' */
  models?: string;
  /** Teacher classes that are a pet. @default 'cat,dog=pet' */
  classes?: string;
  /** @default DEFAULT_BORDER_RULE */
  border?: BorderRule;
  /** Skip frames where the teacher is unsure over more than this share. @default DEFAULT_SKIP_RULE.maxUnsureShare */
  maxUnsureShare?: number;
}

/** Teacher classes that make a pet when none are named (PASCAL VOC's, as in the DeepLab teacher). */
export const DEFAULT_TEACHER_CLASSES = 'cat,dog=pet';

export class TeacherLabeler extends RequestLabeler {
  private constructor(
    transport: Transport,
    private readonly o: TeacherLabelerOptions,
    private readonly teacher: Teacher,
  ) {
    super(transport, o);
  }

  static async create(transport: Transport, o: TeacherLabelerOptions): Promise<TeacherLabeler> {
    const teacher = await openTeacher(o.teacher, { models: o.models, classes: o.classes ?? DEFAULT_TEACHER_CLASSES });
    return new TeacherLabeler(transport, o, teacher);
  }

  /** `teacher:<name>@<version>`: what feedback records name as their labeller. */
  get labeler(): string {
    return `teacher:${this.teacher.card.name}@${this.teacher.card.version}`;
  }

  private async frame(request: LabelRequestMessage): Promise<PixelImage | null> {
    const path = new FeedbackStore(request.frame.store).objectPath(request.frame.sha256);
    if (!existsSync(path)) return null;
    const bytes = new Uint8Array(readFileSync(path));
    const { contentType, width, height } = request.frame;
    if (contentType === RAW_RGB8) {
      if (!width || !height || bytes.length !== width * height * 3) return null;
      return { data: bytes, width, height, channels: 3 };
    }
    return decodeImage(bytes);
  }

  /** The teacher's mask for a frame image, or null when it is unsure over most of it. */
  async maskFor(image: PixelImage): Promise<Uint8Array | null> {
    const m = await this.teacher.logOdds(image);
    if (verdictOf(m.data).unsureShare > (this.o.maxUnsureShare ?? DEFAULT_SKIP_RULE.maxUnsureShare)) return null;
    return teacherTrimap(resizeFloatMap(m.data, m, image.width, image.height), image.width, image.height, this.o.border ?? DEFAULT_BORDER_RULE);
  }

  protected async label(request: LabelRequestMessage): Promise<FeedbackMessage | null> {
    let image: PixelImage | null;
    try {
      image = await this.frame(request);
    } catch (err) {
      this.o.log?.warn('teacher labeller cannot read a frame', { frameId: request.frameId, error: (err as Error).message });
      return null;
    }
    if (!image) return null;
    const mask = await this.maskFor(image);
    if (!mask) return null;
    return {
      schema: FEEDBACK_SCHEMA_MESSAGE,
      frameId: request.frameId,
      mask: toBase64(encodeMaskPng({ data: mask, width: image.width, height: image.height })),
      source: 'teacher',
      labeler: this.labeler,
      at: new Date().toISOString(),
    };
  }

  override async stop(): Promise<void> {
    await super.stop();
    await this.teacher.dispose();
  }
}


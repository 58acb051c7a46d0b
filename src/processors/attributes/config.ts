import { z } from 'zod';

export const ATTRIBUTE_ACTIONS = ['insert', 'update', 'upsert', 'delete', 'rename'] as const;

export const attributeValueSchema = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]);

export const attributeActionSchema = z
  .strictObject({
    key: z.string().min(1).describe('The attribute written (insert, update, upsert, rename) or removed (delete).'),
    action: z
      .enum(ATTRIBUTE_ACTIONS)
      .describe(
        'insert: set key when absent; update: set key when present; upsert: set key either way; delete: remove key; rename: move from_attribute to key (overwriting key; nothing happens when from_attribute is absent).',
      ),
    value: attributeValueSchema
      .optional()
      .describe('The static value for insert, update and upsert: a string, number, boolean or list of strings.'),
    from_attribute: z.string().min(1).optional().describe('For rename: the attribute moved to key.'),
  })
  .superRefine((a, ctx) => {
    const needsValue = a.action === 'insert' || a.action === 'update' || a.action === 'upsert';
    if (needsValue && a.value === undefined)
      ctx.addIssue({ code: 'custom', path: ['value'], message: `is required for action ${a.action}` });
    if (!needsValue && a.value !== undefined)
      ctx.addIssue({ code: 'custom', path: ['value'], message: `is not used by action ${a.action}` });
    if (a.action === 'rename' && a.from_attribute === undefined)
      ctx.addIssue({ code: 'custom', path: ['from_attribute'], message: 'is required for action rename' });
    if (a.action !== 'rename' && a.from_attribute !== undefined)
      ctx.addIssue({ code: 'custom', path: ['from_attribute'], message: `is only used by action rename` });
  });

export const attributesConfigSchema = z
  .strictObject({
    actions: z
      .array(attributeActionSchema)
      .min(1)
      .describe(
        "Applied in order to each event's attributes (event.attributes: enrichment and static attributes, not the probe's own fields).",
      ),
  })
  .describe(
    'Inserts, updates, upserts, deletes and renames event attributes, like the Collector attributes processor, with static values. Returns a copy when something changes.',
  );

export type AttributesConfig = z.infer<typeof attributesConfigSchema>;
export type AttributeAction = z.infer<typeof attributeActionSchema>;

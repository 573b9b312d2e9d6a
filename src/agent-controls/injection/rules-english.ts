import { ADDRESS, anyOf, B, E, FILLER, type Rule, rule, SEP, SEP0, SPAN } from './rule.ts';

// Rules need the shape of an instruction (a verb aimed at the reader's rules, a role marker, a request for
// data), not a word: customer notes say "ignore the duplicate charge", "system upgrade", "instructions for
// delivery" all the time. Weights below 0.5 never flag on their own (see score.ts).

const OVERRIDE_VERB = anyOf(
  'ignore',
  'ignoring',
  'disregard',
  'forget',
  'override',
  'overrule',
  'bypass',
  'skip',
  'drop',
  'discard',
  'abandon',
  'reset',
  'neglect',
  `set${SEP}aside`,
  `stop${SEP}following`,
  `(?:do${SEP}not|don'?t|dont|no${SEP}longer)${SEP}follow`,
);
/** What an instruction override aims at; `instr…` also catches a word the masking cut short. */
const OVERRIDE_OBJECT = anyOf(
  'instr\\p{L}*',
  'directions?',
  'directives?',
  'rules?',
  'guidelines?',
  'guidance',
  'constraints?',
  'restrictions?',
  'prompts?',
  'context',
  'polic(?:y|ies)',
  'programming',
  'orders',
  'commands',
  `system${SEP}(?:message|prompt)`,
  'safeguards?',
  'guardrails?',
  'safety',
  'masking',
  'above',
);
const CANCELLED = anyOf('cancel\\p{L}*', 'void', 'revoked', 'obsolete', 'outdated', 'invalid', 'overridden', 'replaced', `no${SEP}longer${SEP}valid`);
const CONTROLS = anyOf(
  'masking',
  'filters?',
  'filtering',
  'guardrails?',
  `safety${SEP}checks?`,
  `fraud${SEP}checks?`,
  'restrictions',
  `privacy${SEP}(?:rules|filters?|polic(?:y|ies))`,
  `content${SEP}polic(?:y|ies)`,
  'audit\\p{L}*',
  'review',
);
const DATA_VERB = anyOf(
  'reveal',
  'print',
  'output',
  'list',
  'dump',
  'show',
  'display',
  'return',
  `give${SEP}me`,
  'export',
  `tell${SEP}me`,
  'disclose',
  'leak',
  'extract',
  'collect',
  'paste',
  'copy',
  `read${SEP}me`,
  'provide',
  'share',
  'send',
  'forward',
  'e-?mail',
  'upload',
  'post',
  'include',
);
/** Data a fraud or support agent must never hand to whoever wrote a note. */
export const SENSITIVE = anyOf(
  'national[ _-]?ids?',
  `id${SEP}numbers`,
  `passport${SEP}numbers`,
  `(?:credit${SEP})?card${SEP}numbers?`,
  'passwords?',
  'credentials',
  `api${SEP}keys?`,
  'secrets?',
  'salar(?:y|ies)',
  'ssns?',
  `social${SEP}security`,
  'birth[ _-]?dates?',
  `dates?${SEP}of${SEP}birth`,
  `phone${SEP}numbers?`,
  'e-?mails?',
  `e-?mail${SEP}addresses`,
  `raw${SEP}(?:rows|data)`,
  'rows',
  'records',
  `(?:hidden|masked)${SEP}(?:fields|columns)`,
  'columns',
  'database',
  'diagnos\\p{L}*',
  `health${SEP}claims`,
  'balances?',
  `(?:customer|personal)${SEP}data`,
  'tables?',
);
const QUANTIFIER = anyOf('all', 'every', 'each', 'full', 'entire', 'complete', 'raw', 'unmasked', 'whole');
const SEND_VERB = anyOf('send', 'forward', 'e-?mail', 'mail', 'post', 'upload', 'transmit', 'copy', 'write', 'leak', 'share', 'deliver', 'submit', 'report');
const BULK = anyOf(QUANTIFIER, 'list', 'records', 'data', 'history', 'everything', SENSITIVE);
const ROLE_WORD = anyOf('system', 'assistant', 'user', 'human', 'ai');
const MODEL = anyOf(
  'ai',
  'a\\.i\\.',
  'llms?',
  `language${SEP}models?`,
  'assistant',
  'chatbot',
  `ai${SEP}agents?`,
  'agents?',
  'models?',
  'bots?',
  'gpt',
  'chatgpt',
  'claude',
);
const AUTHORITY = anyOf(
  'administrator',
  'admin',
  `security${SEP}team`,
  'developers?',
  'compliance',
  'regulator',
  'ceo',
  'management',
  'bank',
  'owner',
  'operator',
);
const SAFE_VERDICT = anyOf('safe', 'legitimate', 'legit', `not${SEP}fraud\\p{L}*`, 'verified', 'trusted', `low${SEP0}risk`, 'approved', 'genuine', 'clean');

export const ENGLISH_RULES: readonly Rule[] = [
  // Instruction overrides.
  rule('instruction_override', 0.9, `${B}${OVERRIDE_VERB}${E}${SEP}${FILLER(3)}${OVERRIDE_OBJECT}`),
  rule(
    'instruction_override',
    0.9,
    `${B}(?:ignore|disregard|forget)${SEP}(?:everything|anything|all)${SEP}(?:(?:you|you've|you${SEP}have)${SEP}(?:been|were)${SEP}told|above|before|previously|so${SEP}far)`,
  ),
  rule(
    'instruction_override',
    0.75,
    `${B}(?:your|the|all|my)${SEP}(?:previous|prior|earlier|original|old|above|initial)${SEP}(?:instructions|rules|prompts?|guidelines)${SEP}(?:are|were|is|have${SEP}been)${SEP}${CANCELLED}`,
  ),
  rule('instruction_override', 0.75, `${B}(?:the${SEP})?(?:instructions|rules)${SEP}above${SEP}(?:are|were)${SEP}${CANCELLED}`),
  rule('instruction_override', 0.75, `${B}(?:disable|turn${SEP}off|switch${SEP}off|deactivate|remove|lift|suspend)${E}${SEP}${FILLER(2)}${CONTROLS}${E}`),
  rule(
    'instruction_override',
    0.7,
    `${B}(?:safety${SEP}checks|filters|masking|restrictions|(?:all${SEP})?rules)${SEP}(?:are|is)${SEP}(?:now${SEP})?(?:off|disabled|lifted|suspended)${E}`,
  ),
  // The reader's own prompt.
  rule(
    'system_prompt',
    0.6,
    `${B}(?:system${SEP0}prompt|system${SEP}message|system${SEP}instructions|hidden${SEP}instructions|initial${SEP}instructions|developer${SEP}message)`,
  ),
  rule(
    'system_prompt',
    0.8,
    `${B}(?:reveal|print|repeat|show|output|tell|display|leak|dump|give|what${SEP}(?:is|are))${SEP}(?:me${SEP})?(?:your|the)${SEP}${FILLER(2)}(?:prompt|instructions|rules)${E}`,
  ),
  rule('system_prompt', 0.8, `${B}(?:print|repeat|output|show)${SEP}(?:the${SEP})?(?:text|words|everything|instructions)${SEP}(?:above|before)${E}`),
  // Role markers: chat-template tokens, role labels, fake closing tags that end "the data" early.
  rule(
    'role_tag',
    0.9,
    '<\\|(?:im_start|im_end|system|user|assistant|endoftext|end|begin_of_text|start_header_id|end_header_id|eot_id)\\|>|\\[/?inst\\]|<</?sys>>',
  ),
  rule('role_tag', 0.7, `(?:^|\\n)[^\\S\\n]{0,3}#{2,6}[^\\S\\n]{0,3}(?:system|instructions?|assistant|user|human)${E}`),
  // A role label opening the text, a line or a sentence.
  rule('role_tag', 0.4, `(?:^|\\n|[.!?;][^\\S\\n]{1,3})[^\\S\\n]{0,3}${ROLE_WORD}[^\\S\\n]{0,3}:`),
  rule('role_tag', 0.7, `${B}(?:human|user)[^\\S\\n]{0,3}:[\\s\\S]{0,200}?${B}(?:assistant|ai)[^\\S\\n]{0,3}:`),
  rule('role_tag', 0.55, '<[^\\S\\n]{0,3}/?[^\\S\\n]{0,3}(?:system|instructions?|prompt|context|assistant|user|tool|admin|note|data|document)[^\\S\\n]{0,3}>'),
  rule('role_tag', 0.4, `${B}end${SEP}of${SEP}(?:data|(?:transaction${SEP})?record|input|document|context|note)${E}|-{3}[^\\S\\n]{0,3}end${E}`),
  rule('role_tag', 0.6, `${B}system${SEP}override${E}|\\[(?:system|assistant|admin)\\]\\(#`),
  rule('role_tag', 0.5, `${B}sure${SEP0}!?${SEP}here${SEP}(?:are|is)${E}`),
  // Personas and role play.
  rule('role_play', 0.3, `${B}you${SEP}are${SEP}now${E}`),
  rule('role_play', 0.5, `${B}you${SEP}are${SEP}no${SEP}longer${E}`),
  rule('role_play', 0.45, `${B}(?:pretend|imagine)${SEP}(?:to${SEP}be|you${SEP}(?:are|have|were)|that${SEP}you)${E}`),
  rule('role_play', 0.3, `${B}(?:role${SEP0}play|act)${SEP}as${SEP}(?:if${SEP}you|an?|the)${E}`),
  rule('role_play', 0.3, `${B}from${SEP}now${SEP}on${E}|${B}let'?s${SEP}play${SEP}a${SEP}game${E}`),
  rule('role_play', 0.6, `${B}stay${SEP}in${SEP}character${E}`),
  rule('role_play', 0.5, `${B}you${SEP}(?:now${SEP})?work${SEP}for${SEP}me${E}|${B}you${SEP}must${SEP}(?:now${SEP})?(?:obey|follow${SEP}my)${E}`),
  rule('jailbreak', 0.9, `${B}do${SEP}anything${SEP}now${E}`),
  rule('jailbreak', 0.7, `${B}(?:you${SEP}are(?:${SEP}now)?|act${SEP}as|as|called|named)${SEP}(?:dan|stan|aim|dude|evilbot|freegpt|chaosgpt)${E}`),
  rule('jailbreak', 0.7, `${B}(?:developer|dev|god|jailbreak|unrestricted|debug)${SEP}mode${E}`),
  rule('jailbreak', 0.3, `${B}jailbr(?:oken|eak(?:ing)?)${E}`),
  rule('jailbreak', 0.45, `${B}(?:unrestricted|uncensored|unfiltered)${E}`),
  rule(
    'jailbreak',
    0.45,
    `${B}(?:no|without(?:${SEP}any)?)${SEP}${FILLER(1)}(?:restrictions|rules|limits|limitations|filters|censorship|guidelines|masking)${E}`,
  ),
  rule('jailbreak', 0.6, `${B}(?:grandma|grandmother)${SEP}(?:used${SEP}to|would)${E}`),
  // New orders.
  rule(
    'new_instructions',
    0.5,
    `${B}(?:new|updated|revised|additional|real|actual|true)${SEP}(?:instructions?|task|directives?|orders|rules|policy|system${SEP}message)${SEP0}:`,
  ),
  rule(
    'new_instructions',
    0.6,
    `${B}new${SEP}(?:instructions?|system${SEP}message)${SEP}from${SEP}(?:the${SEP})?(?:administrator|admin|system|developer|operator|security${SEP}team)${E}`,
  ),
  rule('new_instructions', 0.45, `${B}your${SEP}(?:new${SEP})?(?:task|job|goal|mission|purpose)${SEP}(?:is|now${SEP}is)${E}`),
  // Asking for data.
  rule('data_request', 0.45, `${B}${DATA_VERB}${E}${SPAN(40)}${B}${SENSITIVE}${E}`),
  rule('data_request', 0.6, `${B}${DATA_VERB}${E}${SPAN(40)}${B}${QUANTIFIER}${E}${SPAN(30)}${B}${SENSITIVE}${E}`),
  rule('data_request', 0.5, `${B}unmask\\p{L}*`),
  // Sending it somewhere.
  rule('exfiltration', 0.3, `${B}(?:${SEND_VERB}|fetch|visit)${E}[^\\n]{0,80}?${ADDRESS}`),
  rule('exfiltration', 0.75, `${B}${SEND_VERB}${E}${SPAN(60)}${B}${BULK}${E}[^\\n]{0,80}?${ADDRESS}`),
  rule('exfiltration', 0.6, `${B}exfiltrat\\p{L}*`),
  rule(
    'exfiltration',
    0.45,
    `${B}append${E}${SPAN(40)}${B}to${SEP}(?:the${SEP})?(?:url|link|query|request)${E}|${B}in${SEP}a${SEP}request${SEP}to${SEP}https?://`,
  ),
  // Tool calls.
  rule('tool_call', 0.45, `${B}(?:call|invoke|use|run|execute|trigger)${SEP}(?:the${SEP})?[\\p{L}\\p{N}_\`'"-]{1,40}${SEP}(?:tool|function)${E}`),
  rule('tool_call', 0.45, `${B}(?:invoke|call)${SEP}(?:the${SEP})?(?:tool|function)${E}`),
  // A snake_case or quoted name is how tools are named, not how people talk about plumbers and vouchers.
  rule(
    'tool_call',
    0.65,
    `${B}(?:call|invoke|use|run|execute|trigger)${SEP}(?:the${SEP})?(?:tool${SEP}|function${SEP})?(?:[\\p{L}\\p{N}]{1,20}_[\\p{L}\\p{N}_]{1,40}|\`[^\`\\n]{1,40}\`)`,
  ),
  // Claims of authority, and words addressed to the model reading the data.
  rule(
    'authority_claim',
    0.4,
    `${B}as${SEP}(?:the|your)${SEP}(?:system${SEP})?(?:administrator|admin|developer|database${SEP}owner|owner|operator|creator|ceo)${E}`,
  ),
  rule('authority_claim', 0.5, `${B}(?:i|we)${SEP}(?:hereby${SEP})?authori[sz]e${SEP}you${E}`),
  rule('authority_claim', 0.35, `${B}${AUTHORITY}${E}${SPAN(30)}${B}(?:has|have)${SEP}(?:approved|authori[sz]ed|allowed|cleared)${E}`),
  rule(
    'authority_claim',
    0.35,
    `${B}(?:is|are)${SEP}(?:now${SEP})?authori[sz]ed${SEP}to${E}|${B}this${SEP}request${SEP}is${SEP}(?:pre-?)?(?:authori[sz]ed|approved)${E}`,
  ),
  rule('authority_claim', 0.6, `${B}this${SEP}is${SEP}your${SEP}(?:developer|administrator|admin|operator|creator|owner)${E}`),
  rule('authority_claim', 0.4, `${B}message${SEP}from${SEP}(?:the${SEP})?(?:administrator|admin|security${SEP}team|system|developers?|operator)${E}`),
  rule('addresses_model', 0.45, `${B}(?:dear|attention|hey|hello|hi|note${SEP}to(?:${SEP}the)?|to${SEP}(?:any|the|all))${SEP}${MODEL}${E}`),
  rule('addresses_model', 0.6, `${B}if${SEP}you${SEP}are${SEP}an?${SEP}(?:ai|llm|language${SEP}model|assistant|bot|agent|chatbot)${E}`),
  rule('addresses_model', 0.5, `${B}(?:the|any|an?)${SEP}(?:ai|llm)${SEP}(?:agent|assistant|model|system|reading|processing|bot)${E}`),
  rule('addresses_model', 0.5, `${B}(?:ai|llm)${SEP}(?:agent|assistant|model)${SEP0}[:,]|(?:^|\\n)[^\\S\\n]{0,3}assistant${SEP0},`),
  rule('addresses_model', 0.5, `${B}(?:language${SEP}models?|llms?)${SEP}(?:reading|processing)${E}`),
  // Steering the agent's own verdict: a fraud agent told that a payment is fine.
  rule('goal_hijack', 0.5, `${B}mark${SEP}${FILLER(4)}as${SEP}${SAFE_VERDICT}${E}`),
  rule('goal_hijack', 0.5, `${B}(?:classify|treat|flag|report|summari[sz]e)${SEP}${FILLER(3)}as${SEP}${SAFE_VERDICT}${E}`),
  rule(
    'goal_hijack',
    0.35,
    `${B}(?:approve|clear|close|skip|stop)${SEP}(?:(?:all|the|this|every)${SEP})?(?:pending${SEP})?(?:fraud${SEP})?(?:transactions?|requests?|payments?|flag|case|review|checks?)${E}`,
  ),
  rule('goal_hijack', 0.4, `${B}raise${SEP}(?:their|the|his|her)${SEP}credit${SEP}limit${E}`),
  rule('urgency', 0.15, `(?:^|\\n)[^\\S\\n]{0,3}(?:important|urgent|attention|warning|notice|note)[^\\S\\n]{0,3}[:!]`),
];

import { ADDRESS, anyOf, B, BU, E, FILLER, type Rule, rule, SEP, SEP0, SPAN } from './rule.ts';

// German, French, Spanish, and the override phrasing of Italian, Portuguese, Dutch and Russian, in the words
// native speakers use (not translated English). Accents are already dropped: "règles" is written "regles".

/** A verb aimed at the reader's rules, then up to four words, then the rules. */
const override = (verbs: string, objects: string, start = B) => rule('instruction_override', 0.9, `${start}${verbs}${E}${SEP}${FILLER(4)}${objects}`);
/** A request verb, then within one sentence the data; a quantifier (all, every) on the way makes it stronger. */
const dataRequests = (verbs: string, nouns: string, quantifiers: string): Rule[] => [
  rule('data_request', 0.45, `${B}${verbs}${E}${SPAN(40)}${B}${nouns}`),
  rule('data_request', 0.6, `${B}${verbs}${E}${SPAN(40)}(?:${B}${quantifiers}${E}${SPAN(30)}${B}${nouns}|${B}${nouns}${SPAN(20)}${B}${quantifiers}${E})`),
];

const GERMAN: Rule[] = [
  override(
    anyOf('ignorier\\p{L}*', 'missacht\\p{L}*', 'vergiss', `vergessen${SEP}sie`, 'ubergeh\\p{L}*', 'umgeh\\p{L}*', 'uberschreib\\p{L}*'),
    `\\p{L}{0,20}${anyOf('anweisung', 'befehl', 'regel', 'vorgabe', 'instruktion', 'richtlinie', 'prompt', 'einschrankung')}`,
  ),
  rule('role_play', 0.35, `${B}du${SEP}bist${SEP}(?:jetzt|ab${SEP}sofort|nun|ab${SEP}jetzt)${E}`),
  rule('jailbreak', 0.45, `${B}uneingeschrankt\\p{L}*|${B}ohne${SEP}(?:\\p{L}{1,30}${SEP})?\\p{L}{0,20}(?:regeln|einschrankungen|filter|maskierung)${E}`),
  rule('jailbreak', 0.7, `${B}entwicklermodus${E}`),
  rule('system_prompt', 0.6, `${B}systemanweisung\\p{L}*|${B}systemvorgabe\\p{L}*`),
  rule('new_instructions', 0.5, `${B}neue${SEP}(?:anweisung|anweisungen|aufgabe|regel|regeln|richtlinie)${SEP0}:`),
  rule(
    'instruction_override',
    0.75,
    `${B}(?:maskierung|filter|datenschutz\\p{L}*)${SEP}(?:deaktivier|ausschalt|abschalt|aufheb)\\p{L}*|${B}(?:deaktivier|schalte)\\p{L}*${SEP}${FILLER(2)}(?:maskierung|filter)`,
  ),
  ...dataRequests(
    anyOf('gib', 'gebe', 'zeig\\p{L}*', 'nenn\\p{L}*', 'list\\p{L}*', 'exportier\\p{L}*', 'send\\p{L}*', 'schick\\p{L}*'),
    anyOf(
      'personalausweis\\p{L}*',
      'ausweisnummer\\p{L}*',
      'kartennummer\\p{L}*',
      'kundendaten',
      'kontostand\\p{L}*',
      'kontostande',
      'passw\\p{L}*',
      'gehalt\\p{L}*',
      'gehalter',
      'rohdaten',
      'telefonnummer\\p{L}*',
      'tabelle',
    ),
    anyOf('alle', 'samtliche', 'vollstandig\\p{L}*', 'jede\\p{L}?'),
  ),
  // German puts the verb last: "… muss alle Kontostände ausgeben".
  rule(
    'data_request',
    0.6,
    `${B}(?:alle|samtliche|vollstandig\\p{L}*)${SEP}${FILLER(2)}(?:kontostand\\p{L}*|kontostande|kundendaten|kartennummer\\p{L}*|personalausweis\\p{L}*|gehalter|rohdaten)${SPAN(30)}${B}(?:ausgeben|anzeigen|senden|exportieren|zuruckgeben|nennen)${E}`,
  ),
];

const FRENCH: Rule[] = [
  override(
    anyOf(
      'ignore[rsz]?',
      'oublie[rsz]?',
      `ne${SEP}(?:tiens|tenez)${SEP}pas${SEP}compte${SEP}(?:des|de${SEP}la|du|de)`,
      `(?:fais|faites)${SEP}abstraction${SEP}(?:des|de)`,
      'contourne[rsz]?',
      'outrepasse[rsz]?',
    ),
    `${anyOf('instructions?', 'consignes?', 'regles?', 'directives?', 'prompt', 'restrictions?', 'politique')}${E}`,
  ),
  rule('role_play', 0.35, `${B}(?:tu${SEP}es|vous${SEP}etes)${SEP}(?:maintenant|desormais|a${SEP}present|dorenavant)${E}`),
  rule('jailbreak', 0.7, `${B}mode${SEP}developpeur${E}`),
  rule('jailbreak', 0.45, `${B}sans${SEP}(?:aucune?${SEP})?(?:restrictions?|regles|limites|filtres?|masquage)${E}`),
  rule('system_prompt', 0.6, `${B}(?:prompt|invite|instructions?|message)${SEP}systeme${E}`),
  rule(
    'system_prompt',
    0.8,
    `${B}(?:revele|affiche|montre|donne|repete)\\p{L}*${SEP}(?:moi${SEP})?(?:ton|votre|le|tes|vos)${SEP}(?:prompt|invite|instructions|consignes)${E}`,
  ),
  rule('new_instructions', 0.5, `${B}nouvelles?${SEP}(?:instructions?|consignes?|regles?|taches?)${SEP0}:`),
  rule('instruction_override', 0.75, `${B}desactiv\\p{L}*${SEP}${FILLER(2)}(?:masquage|filtres?|protections?|restrictions?)${E}`),
  rule('goal_hijack', 0.5, `${B}marque[rz]?${SEP}${FILLER(3)}comme${SEP}(?:sur|sure|legitime|verifie|fiable)${E}`),
  ...dataRequests(
    anyOf('affiche\\p{L}*', 'donne\\p{L}*', 'revele\\p{L}*', 'liste\\p{L}*', 'envoie\\p{L}*', 'envoyez', 'exporte\\p{L}*', 'montre\\p{L}*', 'renvoie\\p{L}*'),
    anyOf(
      `numeros${SEP}de${SEP}carte`,
      `cartes?${SEP}bancaires?`,
      'e-?mails',
      `mots${SEP}de${SEP}passe`,
      'salaires',
      'donnees',
      'clients',
      'historique',
      'soldes?',
    ),
    anyOf('tous', 'toutes', 'complets?', 'completes?', 'brutes'),
  ),
];

const SPANISH: Rule[] = [
  override(
    anyOf(
      'ignora[rd]?',
      'ignore',
      'olvida[rd]?',
      'olvide',
      'omite',
      'omitir',
      `haz${SEP}caso${SEP}omiso${SEP}(?:a|de)`,
      `no${SEP}hagas${SEP}caso${SEP}(?:a|de)`,
      'salta\\p{L}*',
    ),
    `${anyOf('instrucciones', 'instruccion', 'reglas', 'directrices', 'indicaciones', 'normas', 'prompt', 'restricciones', 'politica')}${E}`,
  ),
  rule('role_play', 0.3, `${B}ahora${SEP}eres${E}|${B}a${SEP}partir${SEP}de${SEP}ahora${E}`),
  rule('jailbreak', 0.45, `${B}sin${SEP}(?:ninguna${SEP})?(?:restricciones|reglas|limites|filtros|filtrar)${E}`),
  rule('jailbreak', 0.7, `${B}modo${SEP}desarrollador${E}`),
  rule('system_prompt', 0.6, `${B}(?:prompt|instrucciones|mensaje)${SEP}(?:del${SEP})?sistema${E}`),
  rule('system_prompt', 0.8, `${B}(?:revela|muestra|dime|repite)\\p{L}*${SEP}(?:el|tu|tus|las)${SEP}(?:prompt|instrucciones)${E}`),
  rule('new_instructions', 0.5, `${B}nuevas?${SEP}(?:instrucciones|instruccion|reglas|tarea)${SEP0}:`),
  rule('instruction_override', 0.75, `${B}desactiva\\p{L}*${SEP}${FILLER(2)}(?:enmascaramiento|filtros?|restricciones)${E}`),
  rule('goal_hijack', 0.5, `${B}marca${SEP}${FILLER(3)}como${SEP}(?:legitima|legitimo|segura|seguro|verificada|no${SEP}fraudulenta)${E}`),
  ...dataRequests(
    anyOf('muestra\\p{L}*', 'lista\\p{L}*', 'listar', 'envia\\p{L}*', 'exporta\\p{L}*', 'revela\\p{L}*', 'dame', 'devuelve\\p{L}*'),
    anyOf(`numeros${SEP}de${SEP}(?:identificacion|tarjeta)`, 'tarjetas', 'contrasenas', 'salarios', 'historial', 'saldos?', 'clientes', 'empleados', 'datos'),
    anyOf('todos', 'todas', 'completo\\p{L}*', `sin${SEP}filtrar`),
  ),
];

const OTHER_EUROPEAN: Rule[] = [
  override(anyOf('ignora', 'ignorare', 'dimentica'), `${anyOf('istruzioni', 'regole', 'direttive')}${E}`),
  override(anyOf('ignore', 'ignora', 'esqueca', 'esquece'), `${anyOf('instrucoes', 'regras', 'diretrizes')}${E}`),
  override(anyOf('negeer', 'vergeet'), `${anyOf('instructies', 'regels', 'richtlijnen')}${E}`),
  override(anyOf('игнорируй\\p{L}*', 'забудь\\p{L}*', 'пропусти'), `(?:инструкци|правил|указани)\\p{L}*`, BU),
];

/** Sending to an address, in these languages' verbs (English's are in rules-english.ts). */
const SENDING: Rule[] = [
  rule(
    'exfiltration',
    0.3,
    `${BU}(?:send\\p{L}*|schick\\p{L}*|ubermittl\\p{L}*|envoie\\p{L}*|envoy\\p{L}*|envia\\p{L}*|manda\\p{L}*|invia\\p{L}*|envie|отправ\\p{L}*)${E}[^\\n]{0,80}?${ADDRESS}`,
  ),
];

export const EUROPEAN_RULES: readonly Rule[] = [...GERMAN, ...FRENCH, ...SPANISH, ...OTHER_EUROPEAN, ...SENDING];

import { ADDRESS, ADDRESS_START, anyOf, type Rule, rule } from './rule.ts';

// Chinese, Japanese and Korean: no spaces between words, so rules bound the distance between the parts of a
// phrase within one sentence instead of counting words.

/** Up to `n` characters within one sentence or clause. */
const NEAR = (n: number) => `[^。！？.!?\\n]{0,${n}}?`;

const CHINESE: Rule[] = [
  rule(
    'instruction_override',
    0.9,
    `${anyOf('忽略', '无视', '忽视', '不要理会', '不要遵守', '忘记', '忘掉', '跳过', '绕过', '违背')}${NEAR(12)}${anyOf('指令', '指示', '说明', '规则', '提示', '命令', '设定', '限制', '要求')}`,
  ),
  rule('role_play', 0.35, anyOf('你现在是', '从现在(?:开始|起)[，,]?你', '你不再是')),
  rule('jailbreak', 0.45, anyOf('没有任何限制', '没有限制', '不受(?:任何)?限制', '无限制', '不受约束')),
  rule('jailbreak', 0.7, anyOf('开发者模式', '越狱模式', '上帝模式')),
  rule('system_prompt', 0.6, anyOf('系统提示(?:词)?', '系统指令', '系统消息')),
  rule('system_prompt', 0.8, `${anyOf('输出', '显示', '告诉我', '重复', '打印')}${NEAR(6)}${anyOf('系统提示', '提示词', '指令')}`),
  rule('new_instructions', 0.5, '新(?:的)?(?:指令|指示|任务|规则)[:：]'),
  rule('instruction_override', 0.75, `${anyOf('关闭', '禁用', '取消', '绕过')}${NEAR(4)}${anyOf('脱敏', '过滤', '限制', '审查', '掩码')}`),
  rule(
    'data_request',
    0.45,
    `${anyOf('输出', '显示', '列出', '导出', '泄露', '告诉我', '发给我', '发送', '给我')}${NEAR(15)}${anyOf('身份证', '银行卡', '卡号', '密码', '电话号码', '手机号', '工资', '薪水', '所有客户', '原始数据', '交易记录', '邮箱')}`,
  ),
  rule(
    'data_request',
    0.6,
    `${anyOf('所有', '全部', '完整')}${NEAR(8)}${anyOf('身份证', '银行卡', '卡号', '密码', '电话号码', '工资', '客户', '数据')}${NEAR(8)}${anyOf('发给我', '输出', '显示', '导出', '列出')}`,
  ),
];

const JAPANESE: Rule[] = [
  rule(
    'instruction_override',
    0.9,
    `${anyOf('指示', '命令', 'ルール', '規則', '指令', '設定', '制限', 'プロンプト')}${NEAR(10)}${anyOf('無視', '忘れ', '破棄', '従わな')}`,
  ),
  rule('instruction_override', 0.9, `${anyOf('無視', '忘れ')}${NEAR(6)}${anyOf('指示', '命令', 'ルール')}`),
  rule('role_play', 0.35, 'あなたは(?:今から|これから|もう|今)'),
  rule('jailbreak', 0.45, anyOf('制限(?:の|が)?(?:ない|なし)', '無制限', '制限を解除', '制限を外')),
  rule('jailbreak', 0.7, anyOf('開発者モード', '脱獄モード', 'ジェイルブレイク')),
  rule('system_prompt', 0.6, anyOf('システムプロンプト', 'システム指示', 'システムメッセージ')),
  rule('system_prompt', 0.8, `${anyOf('システムプロンプト', '指示')}${NEAR(6)}${anyOf('表示', '出力', '教え', '見せ')}`),
  rule('new_instructions', 0.5, '新しい(?:指示|命令|ルール|タスク)[:：]'),
  rule('instruction_override', 0.75, `${anyOf('マスキング', 'フィルタ', '制限')}${NEAR(4)}${anyOf('無効', '解除', 'オフ')}`),
  rule(
    'data_request',
    0.5,
    `${anyOf('マイナンバー', 'カード番号', 'パスワード', 'メールアドレス', '給与', '全顧客', 'すべての顧客', '生データ', '取引履歴', '電話番号')}${NEAR(15)}${anyOf('表示', '出力', '一覧', '送信', '教え', '送っ')}`,
  ),
  rule(
    'data_request',
    0.6,
    `${anyOf('すべて', '全', '完全')}${NEAR(12)}${anyOf('マイナンバー', 'カード番号', 'パスワード', 'メールアドレス', '給与', '顧客', 'データ')}${NEAR(15)}${anyOf('表示', '出力', '一覧', '送信', '教え')}`,
  ),
];

const KOREAN: Rule[] = [
  rule('instruction_override', 0.9, `${anyOf('이전', '위의', '앞의', '기존')}${NEAR(10)}${anyOf('지시', '명령', '규칙', '지침')}${NEAR(10)}무시`),
];

/** Sending to an address: the verb comes before it in Chinese, after it in Japanese. */
const SENDING: Rule[] = [
  rule('exfiltration', 0.3, `${anyOf('发送到', '发送给', '发给', '转发')}[^\\n]{0,20}?${ADDRESS}`),
  rule('exfiltration', 0.3, `${ADDRESS_START}[^\\s]{0,60}[^\\n]{0,10}?${anyOf('送信', '送って', '転送')}`),
];

export const CJK_RULES: readonly Rule[] = [...CHINESE, ...JAPANESE, ...KOREAN, ...SENDING];

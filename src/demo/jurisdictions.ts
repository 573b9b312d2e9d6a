/**
 * What a customer or employee looks like in each demo jurisdiction: names (romanised for CN/JP/IN),
 * cities with their postal-code prefixes, phone numbering, e-mail providers, currency and pay.
 */
import { type Rng, weightedPicker } from './random.ts';

export const JURISDICTIONS = ['SG', 'EU-DE', 'EU-FR', 'US-CA', 'CN', 'IN', 'AU', 'JP'] as const;
export type Jurisdiction = (typeof JURISDICTIONS)[number];

export interface City {
  name: string;
  /** Postal codes of the city start with one of these; the rest is random digits. */
  postalPrefixes: readonly string[];
  /** US-CA: the telephone area codes of the city. */
  phoneAreaCodes?: readonly string[];
  /** CN: administrative division codes of the city's districts (first six digits of the resident ID). */
  divisionCodes?: readonly string[];
}

export interface Locale {
  /** Share of the customer base. */
  share: number;
  currency: 'SGD' | 'EUR' | 'USD' | 'CNY' | 'INR' | 'AUD' | 'JPY';
  /** Whether the full name is written family name first (CN, JP). */
  familyNameFirst: boolean;
  givenNames: { F: readonly string[]; M: readonly string[] };
  familyNames: readonly string[];
  emailDomains: readonly string[];
  cities: readonly City[];
  postalLength: number;
  /** A mobile number in E.164 style with the usual digit grouping. */
  phone(rng: Rng, city: City): string;
  /** Annual salary in USD equivalent: [low, typical, high]. */
  salary: readonly [number, number, number];
}

function groups(rng: Rng, ...sizes: number[]): string {
  return sizes.map((size) => rng.digits(size)).join(' ');
}

export const LOCALES: Readonly<Record<Jurisdiction, Locale>> = {
  SG: {
    share: 0.15,
    currency: 'SGD',
    familyNameFirst: false,
    givenNames: {
      F: ['Mei Ling', 'Hui Min', 'Xin Yi', 'Jia Hui', 'Siti', 'Nur Aisyah', 'Priya', 'Kavitha', 'Shu Fen', 'Li Ting', 'Farah', 'Rachel', 'Michelle', 'Grace'],
      M: ['Wei Ming', 'Jun Jie', 'Zhi Hao', 'Kok Leong', 'Muhammad', 'Ahmad', 'Rajesh', 'Arjun', 'Darren', 'Marcus', 'Kelvin', 'Hafiz', 'Jian Hong'],
    },
    familyNames: ['Tan', 'Lim', 'Lee', 'Ng', 'Ong', 'Wong', 'Goh', 'Chua', 'Chan', 'Koh', 'Teo', 'Ang', 'Yeo', 'Tay', 'Ho', 'Low', 'Rahman', 'Ismail', 'Hassan', 'Kumar', 'Nair', 'Pillai', 'Singh'],
    emailDomains: ['gmail.com', 'gmail.com', 'yahoo.com.sg', 'hotmail.com', 'singnet.com.sg'],
    cities: [
      { name: 'Tampines', postalPrefixes: ['52'] },
      { name: 'Jurong West', postalPrefixes: ['64'] },
      { name: 'Woodlands', postalPrefixes: ['73'] },
      { name: 'Bedok', postalPrefixes: ['46'] },
      { name: 'Ang Mo Kio', postalPrefixes: ['56'] },
      { name: 'Toa Payoh', postalPrefixes: ['31'] },
      { name: 'Bukit Timah', postalPrefixes: ['58', '59'] },
      { name: 'Queenstown', postalPrefixes: ['14'] },
      { name: 'Punggol', postalPrefixes: ['82'] },
      { name: 'Sengkang', postalPrefixes: ['54'] },
    ],
    postalLength: 6,
    phone: (rng) => `+65 ${rng.pick(['8', '9'])}${groups(rng, 3, 4)}`,
    salary: [38_000, 85_000, 320_000],
  },
  'EU-DE': {
    share: 0.14,
    currency: 'EUR',
    familyNameFirst: false,
    givenNames: {
      F: ['Anna', 'Lena', 'Julia', 'Laura', 'Sophie', 'Katharina', 'Sabine', 'Petra', 'Monika', 'Ursula', 'Claudia', 'Jana', 'Lea', 'Hannah', 'Marie', 'Birgit'],
      M: ['Lukas', 'Jonas', 'Leon', 'Felix', 'Maximilian', 'Paul', 'Thomas', 'Michael', 'Andreas', 'Stefan', 'Jürgen', 'Klaus', 'Wolfgang', 'Tobias', 'Florian', 'Matthias'],
    },
    familyNames: ['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker', 'Schulz', 'Hoffmann', 'Schäfer', 'Koch', 'Bauer', 'Richter', 'Klein', 'Wolf', 'Schröder', 'Neumann', 'Schwarz', 'Zimmermann', 'Braun', 'Krüger', 'Hartmann', 'Lange'],
    emailDomains: ['gmail.com', 'gmx.de', 'gmx.de', 'web.de', 't-online.de', 'outlook.de'],
    cities: [
      { name: 'Berlin', postalPrefixes: ['10', '12', '13'] },
      { name: 'Hamburg', postalPrefixes: ['20', '21', '22'] },
      { name: 'München', postalPrefixes: ['80', '81'] },
      { name: 'Köln', postalPrefixes: ['50', '51'] },
      { name: 'Frankfurt am Main', postalPrefixes: ['60'] },
      { name: 'Stuttgart', postalPrefixes: ['70'] },
      { name: 'Düsseldorf', postalPrefixes: ['40'] },
      { name: 'Leipzig', postalPrefixes: ['04'] },
      { name: 'Dresden', postalPrefixes: ['01'] },
      { name: 'Hannover', postalPrefixes: ['30'] },
    ],
    postalLength: 5,
    // Mobile prefixes 015x carry eight subscriber digits, 016x/017x seven.
    phone: (rng) => {
      const prefix = rng.pick(['151', '152', '157', '160', '162', '170', '171', '172', '176', '178']);
      return `+49 ${prefix} ${rng.digits(prefix.startsWith('15') ? 8 : 7)}`;
    },
    salary: [42_000, 72_000, 210_000],
  },
  'EU-FR': {
    share: 0.12,
    currency: 'EUR',
    familyNameFirst: false,
    givenNames: {
      F: ['Marie', 'Camille', 'Léa', 'Chloé', 'Manon', 'Inès', 'Sophie', 'Isabelle', 'Nathalie', 'Sylvie', 'Hélène', 'Claire', 'Juliette', 'Émilie', 'Céline', 'Aurélie'],
      M: ['Jean', 'Pierre', 'Louis', 'Lucas', 'Hugo', 'Thomas', 'Nicolas', 'Julien', 'Antoine', 'Mathieu', 'François', 'Philippe', 'Olivier', 'Étienne', 'Théo', 'Maxime'],
    },
    familyNames: ['Martin', 'Bernard', 'Dubois', 'Thomas', 'Robert', 'Richard', 'Petit', 'Durand', 'Leroy', 'Moreau', 'Simon', 'Laurent', 'Lefèvre', 'Michel', 'Garcia', 'David', 'Bertrand', 'Roux', 'Vincent', 'Fournier', 'Morel', 'Girard', 'Mercier', 'Dupont'],
    emailDomains: ['gmail.com', 'orange.fr', 'orange.fr', 'free.fr', 'laposte.net', 'hotmail.fr'],
    cities: [
      { name: 'Paris', postalPrefixes: ['7500', '7501'] },
      { name: 'Lyon', postalPrefixes: ['6900'] },
      { name: 'Marseille', postalPrefixes: ['1300', '1301'] },
      { name: 'Toulouse', postalPrefixes: ['3100', '3120', '3130', '3140'] },
      { name: 'Nice', postalPrefixes: ['0600', '0610', '0620', '0630'] },
      { name: 'Nantes', postalPrefixes: ['4400', '4410', '4420', '4430'] },
      { name: 'Strasbourg', postalPrefixes: ['6700', '6710', '6720'] },
      { name: 'Bordeaux', postalPrefixes: ['3300', '3310', '3320', '3330'] },
      { name: 'Lille', postalPrefixes: ['5900', '5910'] },
    ],
    postalLength: 5,
    phone: (rng) => `+33 ${rng.pick(['6', '7'])} ${groups(rng, 2, 2, 2, 2)}`,
    salary: [36_000, 58_000, 180_000],
  },
  'US-CA': {
    share: 0.17,
    currency: 'USD',
    familyNameFirst: false,
    givenNames: {
      F: ['Emily', 'Olivia', 'Sophia', 'Isabella', 'Jessica', 'Ashley', 'Sarah', 'Jennifer', 'Maria', 'Emma', 'Madison', 'Samantha', 'Elizabeth', 'Lauren', 'Mia', 'Chloe'],
      M: ['James', 'Michael', 'David', 'Daniel', 'Christopher', 'Matthew', 'Joshua', 'Andrew', 'Ryan', 'Jose', 'Carlos', 'Kevin', 'Brian', 'Ethan', 'Jacob', 'Anthony'],
    },
    familyNames: ['Smith', 'Johnson', 'Garcia', 'Martinez', 'Rodriguez', 'Hernandez', 'Lopez', 'Williams', 'Brown', 'Jones', 'Nguyen', 'Kim', 'Lee', 'Chen', 'Wong', 'Davis', 'Miller', 'Wilson', 'Anderson', 'Taylor', 'Moore', 'Gonzalez', 'Perez', 'Patel'],
    emailDomains: ['gmail.com', 'gmail.com', 'yahoo.com', 'outlook.com', 'icloud.com', 'aol.com'],
    cities: [
      { name: 'San Francisco', postalPrefixes: ['941'], phoneAreaCodes: ['415', '628'] },
      { name: 'Los Angeles', postalPrefixes: ['900'], phoneAreaCodes: ['213', '310', '323'] },
      { name: 'San Diego', postalPrefixes: ['921'], phoneAreaCodes: ['619', '858'] },
      { name: 'San Jose', postalPrefixes: ['951'], phoneAreaCodes: ['408', '669'] },
      { name: 'Oakland', postalPrefixes: ['946'], phoneAreaCodes: ['510'] },
      { name: 'Sacramento', postalPrefixes: ['958'], phoneAreaCodes: ['916'] },
      { name: 'Fresno', postalPrefixes: ['937'], phoneAreaCodes: ['559'] },
      { name: 'Irvine', postalPrefixes: ['926'], phoneAreaCodes: ['949'] },
    ],
    postalLength: 5,
    // NANP: the exchange starts with 2–9, and 555 is left to fiction.
    phone: (rng, city) => {
      let exchange = String(rng.int(200, 999));
      if (exchange === '555') exchange = '556';
      return `+1 ${rng.pick(city.phoneAreaCodes ?? ['415'])} ${exchange} ${rng.digits(4)}`;
    },
    salary: [60_000, 125_000, 450_000],
  },
  CN: {
    share: 0.12,
    currency: 'CNY',
    familyNameFirst: true,
    givenNames: {
      F: ['Fang', 'Xiuying', 'Na', 'Min', 'Jing', 'Li', 'Yan', 'Juan', 'Xiaomei', 'Lina', 'Yuting', 'Jiayi', 'Xinyi', 'Meiling', 'Hui', 'Ying'],
      M: ['Wei', 'Qiang', 'Lei', 'Jun', 'Yong', 'Jie', 'Tao', 'Ming', 'Chao', 'Hao', 'Jianguo', 'Zhiwei', 'Haoran', 'Yichen', 'Zihan', 'Bo'],
    },
    familyNames: ['Wang', 'Li', 'Zhang', 'Liu', 'Chen', 'Yang', 'Huang', 'Zhao', 'Wu', 'Zhou', 'Xu', 'Sun', 'Ma', 'Zhu', 'Hu', 'Guo', 'He', 'Gao', 'Lin', 'Luo', 'Zheng', 'Liang', 'Xie', 'Song', 'Tang'],
    emailDomains: ['qq.com', 'qq.com', '163.com', '126.com', 'sina.com'],
    cities: [
      { name: 'Beijing', postalPrefixes: ['100'], divisionCodes: ['110101', '110102', '110105', '110106', '110108'] },
      { name: 'Shanghai', postalPrefixes: ['200'], divisionCodes: ['310101', '310104', '310105', '310106', '310115'] },
      { name: 'Guangzhou', postalPrefixes: ['510'], divisionCodes: ['440103', '440104', '440105', '440106'] },
      { name: 'Shenzhen', postalPrefixes: ['518'], divisionCodes: ['440303', '440304', '440305', '440306'] },
      { name: 'Chengdu', postalPrefixes: ['610'], divisionCodes: ['510104', '510105', '510106', '510107'] },
      { name: 'Hangzhou', postalPrefixes: ['310'], divisionCodes: ['330102', '330105', '330106'] },
      { name: 'Wuhan', postalPrefixes: ['430'], divisionCodes: ['420102', '420103', '420106'] },
      { name: "Xi'an", postalPrefixes: ['710'], divisionCodes: ['610102', '610103', '610104'] },
    ],
    postalLength: 6,
    phone: (rng) => {
      const prefix = rng.pick(['130', '131', '132', '135', '136', '137', '138', '139', '150', '151', '152', '158', '159', '186', '187', '188', '189']);
      return `+86 ${prefix} ${groups(rng, 4, 4)}`;
    },
    salary: [18_000, 42_000, 160_000],
  },
  IN: {
    share: 0.12,
    currency: 'INR',
    familyNameFirst: false,
    givenNames: {
      F: ['Priya', 'Ananya', 'Aditi', 'Divya', 'Kavya', 'Pooja', 'Neha', 'Sneha', 'Lakshmi', 'Deepika', 'Anjali', 'Meera', 'Shreya', 'Riya', 'Sunita', 'Aishwarya'],
      M: ['Rahul', 'Amit', 'Arjun', 'Vikram', 'Rohan', 'Sanjay', 'Rajesh', 'Suresh', 'Aditya', 'Karthik', 'Vivek', 'Anil', 'Manoj', 'Arun', 'Siddharth', 'Harish'],
    },
    familyNames: ['Sharma', 'Patel', 'Singh', 'Kumar', 'Gupta', 'Reddy', 'Iyer', 'Nair', 'Rao', 'Joshi', 'Mehta', 'Shah', 'Desai', 'Verma', 'Chatterjee', 'Banerjee', 'Das', 'Pillai', 'Menon', 'Agarwal', 'Kulkarni', 'Bhat', 'Mishra', 'Malhotra'],
    emailDomains: ['gmail.com', 'gmail.com', 'rediffmail.com', 'yahoo.co.in', 'outlook.com'],
    cities: [
      { name: 'Mumbai', postalPrefixes: ['400'] },
      { name: 'New Delhi', postalPrefixes: ['110'] },
      { name: 'Bengaluru', postalPrefixes: ['560'] },
      { name: 'Chennai', postalPrefixes: ['600'] },
      { name: 'Kolkata', postalPrefixes: ['700'] },
      { name: 'Hyderabad', postalPrefixes: ['500'] },
      { name: 'Pune', postalPrefixes: ['411'] },
      { name: 'Ahmedabad', postalPrefixes: ['380'] },
    ],
    postalLength: 6,
    phone: (rng) => `+91 ${rng.int(6, 9)}${rng.digits(4)} ${rng.digits(5)}`,
    salary: [7_000, 24_000, 120_000],
  },
  AU: {
    share: 0.09,
    currency: 'AUD',
    familyNameFirst: false,
    givenNames: {
      F: ['Charlotte', 'Olivia', 'Amelia', 'Isla', 'Mia', 'Ava', 'Grace', 'Chloe', 'Emily', 'Sarah', 'Jessica', 'Rebecca', 'Hannah', 'Zoe', 'Ruby', 'Matilda'],
      M: ['Oliver', 'Jack', 'William', 'Noah', 'Thomas', 'James', 'Lachlan', 'Liam', 'Cooper', 'Riley', 'Benjamin', 'Samuel', 'Joshua', 'Daniel', 'Henry', 'Mitchell'],
    },
    familyNames: ['Smith', 'Jones', 'Williams', 'Brown', 'Wilson', 'Taylor', 'Johnson', 'White', 'Martin', 'Anderson', 'Thompson', 'Nguyen', 'Walker', 'Harris', 'Lee', 'Ryan', 'Robinson', 'Kelly', 'King', 'Wright', 'Evans', 'Roberts', 'Green'],
    emailDomains: ['gmail.com', 'gmail.com', 'bigpond.com', 'outlook.com', 'optusnet.com.au'],
    cities: [
      { name: 'Sydney', postalPrefixes: ['20', '21'] },
      { name: 'Melbourne', postalPrefixes: ['30', '31'] },
      { name: 'Brisbane', postalPrefixes: ['40', '41'] },
      { name: 'Perth', postalPrefixes: ['60', '61'] },
      { name: 'Adelaide', postalPrefixes: ['50', '51'] },
      { name: 'Canberra', postalPrefixes: ['26'] },
      { name: 'Hobart', postalPrefixes: ['70'] },
    ],
    postalLength: 4,
    phone: (rng) => `+61 4${rng.digits(2)} ${groups(rng, 3, 3)}`,
    salary: [48_000, 80_000, 260_000],
  },
  JP: {
    share: 0.09,
    currency: 'JPY',
    familyNameFirst: true,
    givenNames: {
      F: ['Yui', 'Aoi', 'Hina', 'Sakura', 'Yuna', 'Mei', 'Rin', 'Yuki', 'Haruka', 'Ayaka', 'Misaki', 'Nanami', 'Keiko', 'Tomoko', 'Yoko', 'Akiko'],
      M: ['Haruto', 'Sota', 'Yuto', 'Ren', 'Hiroshi', 'Takashi', 'Kenji', 'Daiki', 'Kaito', 'Riku', 'Shota', 'Yusuke', 'Takumi', 'Naoki', 'Kazuki', 'Satoshi'],
    },
    familyNames: ['Sato', 'Suzuki', 'Takahashi', 'Tanaka', 'Watanabe', 'Ito', 'Yamamoto', 'Nakamura', 'Kobayashi', 'Kato', 'Yoshida', 'Yamada', 'Sasaki', 'Yamaguchi', 'Matsumoto', 'Inoue', 'Kimura', 'Hayashi', 'Shimizu', 'Mori', 'Abe', 'Ikeda', 'Hashimoto', 'Ishikawa'],
    emailDomains: ['gmail.com', 'yahoo.co.jp', 'yahoo.co.jp', 'docomo.ne.jp', 'icloud.com'],
    cities: [
      { name: 'Tokyo', postalPrefixes: ['100', '104', '106', '150', '160', '170'] },
      { name: 'Osaka', postalPrefixes: ['530', '540', '550', '556'] },
      { name: 'Yokohama', postalPrefixes: ['220', '221', '231', '232'] },
      { name: 'Nagoya', postalPrefixes: ['450', '460', '464'] },
      { name: 'Sapporo', postalPrefixes: ['060', '062', '064'] },
      { name: 'Fukuoka', postalPrefixes: ['810', '812', '814'] },
      { name: 'Kyoto', postalPrefixes: ['600', '604', '606'] },
      { name: 'Kobe', postalPrefixes: ['650', '651', '655'] },
    ],
    postalLength: 7,
    phone: (rng) => `+81 ${rng.pick(['90', '80', '70'])} ${groups(rng, 4, 4)}`,
    salary: [30_000, 48_000, 170_000],
  },
};

/** A postal code of `city` in its country's shape (JP prints as NNN-NNNN). */
export function postalCode(rng: Rng, jurisdiction: Jurisdiction, city: City): string {
  const locale = LOCALES[jurisdiction];
  const prefix = rng.pick(city.postalPrefixes);
  const code = prefix + rng.digits(locale.postalLength - prefix.length);
  return jurisdiction === 'JP' ? `${code.slice(0, 3)}-${code.slice(3)}` : code;
}

/** Picks a jurisdiction with the intended shares. */
export const pickJurisdiction = weightedPicker(
  Object.fromEntries(JURISDICTIONS.map((code) => [code, LOCALES[code].share])) as Record<Jurisdiction, number>,
);

/**
 * Fake values for `substitute`, mixed across the demo jurisdictions (SG, EU, US, CN, IN, AU, JP) so
 * a substitute does not hint at the subject's origin. Company names are invented.
 */
export const DICTIONARIES = {
  first_name: [
    'Wei', 'Mei Ling', 'Jun', 'Xiu Ying', 'Hao', 'Li Na', 'Arjun', 'Priya', 'Rahul', 'Ananya', 'Vikram', 'Divya',
    'Siti', 'Ahmad', 'Nurul', 'Farid', 'Haruto', 'Yui', 'Sota', 'Aoi', 'Ren', 'Sakura', 'Min-jun', 'Seo-yeon',
    'Lukas', 'Anna', 'Felix', 'Lea', 'Jonas', 'Marie', 'Lucas', 'Camille', 'Hugo', 'Chloé', 'Louis', 'Inès',
    'Matteo', 'Giulia', 'Sofia', 'Mateo', 'Lucía', 'Pablo', 'Elena', 'Jan', 'Eva', 'Liam', 'Olivia', 'Noah',
    'Emma', 'James', 'Ava', 'Ethan', 'Mia', 'Jack', 'Charlotte', 'Oliver', 'Isla', 'William', 'Grace', 'Thomas',
    'Amelia', 'Daniel', 'Zoe', 'Samuel', 'Chen', 'Aisha', 'Omar', 'Fatima', 'Kwame', 'Amara',
  ],
  last_name: [
    'Tan', 'Lim', 'Lee', 'Ng', 'Ong', 'Wong', 'Goh', 'Chua', 'Koh', 'Teo', 'Wang', 'Li', 'Zhang', 'Liu', 'Chen',
    'Yang', 'Huang', 'Zhao', 'Sharma', 'Patel', 'Singh', 'Kumar', 'Gupta', 'Iyer', 'Reddy', 'Nair', 'Rahman',
    'Abdullah', 'Sato', 'Suzuki', 'Takahashi', 'Tanaka', 'Watanabe', 'Ito', 'Yamamoto', 'Nakamura', 'Kim', 'Park',
    'Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Wagner', 'Martin', 'Bernard', 'Dubois', 'Durand',
    'Lefebvre', 'Moreau', 'Rossi', 'Russo', 'García', 'Fernández', 'López', 'de Vries', 'Jansen', 'Nowak',
    'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Miller', 'Davis', 'Wilson', 'Taylor', 'Anderson',
    'Thompson', 'Walker', "O'Brien", 'Mensah', 'Okafor',
  ],
  city: [
    'Singapore', 'Kuala Lumpur', 'Jakarta', 'Bangkok', 'Manila', 'Ho Chi Minh City', 'Hong Kong', 'Shanghai',
    'Beijing', 'Shenzhen', 'Guangzhou', 'Chengdu', 'Hangzhou', 'Tokyo', 'Osaka', 'Yokohama', 'Nagoya', 'Sapporo',
    'Fukuoka', 'Seoul', 'Busan', 'Mumbai', 'Delhi', 'Bengaluru', 'Chennai', 'Hyderabad', 'Pune', 'Kolkata',
    'Sydney', 'Melbourne', 'Brisbane', 'Perth', 'Adelaide', 'Canberra', 'Auckland', 'Berlin', 'Hamburg',
    'Munich', 'Cologne', 'Frankfurt', 'Stuttgart', 'Paris', 'Lyon', 'Marseille', 'Toulouse', 'Nice', 'Bordeaux',
    'Madrid', 'Barcelona', 'Milan', 'Rome', 'Amsterdam', 'Brussels', 'Vienna', 'Warsaw', 'Dublin', 'Lisbon',
    'Los Angeles', 'San Francisco', 'San Diego', 'San Jose', 'Sacramento', 'Fresno', 'Oakland', 'Seattle',
    'New York', 'Chicago', 'Austin', 'Toronto', 'Vancouver', 'London', 'Manchester',
  ],
  company: [
    'Northwind Traders', 'Bluepeak Logistics', 'Harbourlight Foods', 'Silverfern Analytics', 'Crestline Motors',
    'Kestrel Biotech', 'Lumen Harbor Energy', 'Redwood Lane Partners', 'Tidewater Textiles', 'Ironbark Mining',
    'Saffron Grove Hospitality', 'Pinecrest Software', 'Meridian Pulse Health', 'Cobalt Ridge Capital',
    'Amberleaf Retail', 'Stonebridge Construction', 'Riverbend Pharma', 'Zephyr Air Services', 'Orchid Bay Travel',
    'Granite Peak Insurance', 'Willowmere Publishing', 'Sunhaven Solar', 'Falconstone Security', 'Jadeport Shipping',
    'Maplethorn Furniture', 'Brightwater Utilities', 'Copperleaf Telecom', 'Highgate Consulting', 'Lotus Gate Trading',
    'Quillstone Legal', 'Starling Robotics', 'Evergreen Vale Farms', 'Obsidian Works', 'Hollowpine Media',
    'Coralreef Marine', 'Aster Field Labs', 'Blackthorn Fabrication', 'Goldcrest Jewellers', 'Sandpiper Apparel',
    'Ravenwood Games', 'Mistral Wind Power', 'Cedarpoint Education', 'Tamarind Kitchens', 'Palisade Engineering',
    'Kingfisher Freight', 'Ashgrove Dental', 'Nimbus Cloudworks', 'Quartzline Semiconductors', 'Driftwood Design',
    'Sable Creek Breweries', 'Heronsgate Properties', 'Marigold Cosmetics', 'Westerly Rail', 'Elmstead Paper',
    'Thornfield Steel', 'Bayleaf Organics', 'Larkspur Finance', 'Summitline Outdoor', 'Ivorygate Fashion',
    'Foxglove Pharmacy',
  ],
} as const satisfies Record<string, readonly string[]>;

export type DictionaryName = keyof typeof DICTIONARIES;
